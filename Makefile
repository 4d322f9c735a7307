# fanpin-forms: the two commands of the README, and a few more.
#   make demo   set everything up, then run the main job on the bundled sample data
#   make test   set everything up, then run the test suite
.PHONY: setup demo test bench clean

PY := .venv/bin/python

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@$(PY) -m pytest -q

bench: setup
	@$(PY) benchmarks/bench_fill.py

clean:
	rm -rf demo-output .pytest_cache .hypothesis
