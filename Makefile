# lth_mm: `make install` creates .venv with the pinned OpenMMLab stack (idempotent), `make test`.
PYTHON := .venv/bin/python
PYTEST_ARGS ?= -n 2 --dist worksteal -q

.PHONY: install test lint demo demo-transfer demo-selfsup demo-detection demo-segmentation clean

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

demo-selfsup: install
	$(PYTHON) tools/demo.py selfsup $(DEMO_ARGS)

demo-detection: install
	$(PYTHON) tools/demo.py detection $(DEMO_ARGS)

demo-segmentation: install
	$(PYTHON) tools/demo.py segmentation $(DEMO_ARGS)

clean:
	rm -rf work_dirs .pytest_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
