# The two commands a fresh machine needs (see README.md):
#   make book   set up, execute every chapter on the embedded synthetic data, build the book
#   make test   set up (with chromium), run the unit tests, nbval over the executed chapters
#               and the browser check
.PHONY: setup book test bench clean

setup:
	bash scripts/setup.sh

book: setup
	.venv/bin/rbdm book --profile quick

test:
	RBDM_WITH_BROWSER=1 bash scripts/setup.sh
	bash scripts/test.sh

bench: setup
	.venv/bin/python -m benchmarks

clean:
	rm -rf book/_build runs .rbdm-cache
