#!/usr/bin/env bash
# On a fresh machine: installs what the tests need (Debian packages incl. Chromium and Janus,
# PostgreSQL and Redis running on loopback, npm packages), type-checks, builds, and runs all tests:
# unit, integration (SQLite and PostgreSQL, Janus) and the browser end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/ensure-services.sh
bash scripts/npm-deps.sh
npm run typecheck
npm run build
# One jest run over the unit, integration and e2e projects (jest.config.js); files run in parallel.
npm test -- --ci
