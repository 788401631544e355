# lth_mm: `make install` creates .venv with the pinned OpenMMLab stack (idempotent), `make test`.
PYTHON := .venv/bin/python
PYTEST_ARGS ?= -n 2 -q

<<<<<<< HEAD
.PHONY: install test lint demo demo-transfer demo-selfsup clean
=======
.PHONY: install test lint demo demo-transfer demo-detection clean
>>>>>>> detdemo

install:
	bash tools/install.sh

test: install
	$(PYTHON) -m pytest tests $(PYTEST_ARGS)

lint: install
	$(PYTHON) -m ruff check lth_mm tools tests configs

demo: install
	$(PYTHON) tools/demo.py imp $(DEMO_ARGS)

demo-transfer: install
	$(PYTHON) tools/demo.py transfer $(DEMO_ARGS)

<<<<<<< HEAD
demo-selfsup: install
	$(PYTHON) tools/demo.py selfsup $(DEMO_ARGS)
=======
demo-detection: install
	$(PYTHON) tools/demo.py detection $(DEMO_ARGS)
>>>>>>> detdemo

clean:
	rm -rf work_dirs .pytest_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
