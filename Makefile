# fanpin-forms: the two commands of the README, and a few more.
#   make demo   set everything up, then run the main job on the bundled sample data
#   make test   set everything up, then run the test suite (with a private PostgreSQL for the ledger tests)
.PHONY: setup demo test bench clean

PY := .venv/bin/python

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@bash scripts/test-services.sh $(PY) -m pytest -q

bench: setup
	@$(PY) benchmarks/bench_fill.py

clean:
	rm -rf demo-output .pytest_cache .hypothesis
