"""Videos: frames at a step (`reader`), face tracks by box overlap (`tracks`), MP4 output
(`writer`), faces classified / explained frame by frame (`process`, `overlay`), and what
`rbdm predict` / `rbdm explain` do with video files (`files`)."""
