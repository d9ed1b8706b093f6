"""Videos: frames at a step (`reader`), face tracks by box overlap (`tracks`), MP4 output
(`writer`), and faces classified / explained frame by frame (`faces`, `overlay`)."""
