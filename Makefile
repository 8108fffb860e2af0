# paywatch: the two commands are `make up` (the local stack and a portal simulation) and
# `make test` (the whole test suite on the real servers). See README.md.
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: up down status restart-worker test test-unit test-faults lint bench services smoke

up:            ## Run the main job: Kafka, Redis, Prometheus, Alertmanager, a worker, the simulator
	@bash deploy/local/stack.sh up

down:          ## Stop everything `make up` started
	@bash deploy/local/stack.sh down

status:        ## Show which parts of the local stack run
	@bash deploy/local/stack.sh status

restart-worker:  ## Stop and start only the worker (after editing targets or PAYWATCH_* settings)
	@bash deploy/local/stack.sh restart-worker

services:      ## Only the servers the tests need (Kafka, Redis) and the .venv
	@bash deploy/local/stack.sh services

lint:          ## ruff and mypy
	@bash deploy/local/python-env.sh
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy

test: services lint  ## Run the whole test suite (starts what it needs); `make test-unit` for the fast tier
	$(VENV)/pytest $(PYTEST_ARGS)

test-unit:     ## Only the fast, server-free tests (no Kafka, Redis, Prometheus, browser; docs/testing.md)
	@bash deploy/local/python-env.sh
	$(VENV)/pytest --unit $(PYTEST_ARGS)

test-faults: services  ## Only the fault tests (kill -9, scale-out, broker restart; also in `make test`)
	$(VENV)/pytest -m faults tests/streams/test_faults.py $(PYTEST_ARGS)

smoke:         ## `make up` checked for real (every printed URL answers, events counted), then `make down`
	@bash deploy/local/smoke.sh

bench: services  ## Benchmarks that print figures (not part of the test suite)
	$(VENV)/python -m bench $(BENCH_ARGS)
