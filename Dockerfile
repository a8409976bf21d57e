# syntax=docker/dockerfile:1
#
# One image for the api, the worker and the migration job (docker-compose.yml picks the command):
#   node dist/src/main/api-server.js     the Express API: PORT (8080) public, only /koogallery/* for the marketplace;
#                                        INTERNAL_PORT (8081) health, readiness, metrics, /openapi.json, /ops (private)
#   node dist/worker.js             the Temporal worker (metrics on WORKER_METRICS_PORT, default 9464)
#   node dist/src/platform/db/migrate-cli.js applies migrations/*.sql and exits
#   node dist/src/platform/temporal/worker-health-cli.js   the worker's health check (run in the worker's container)
#
# Debian (glibc) on purpose, not alpine: @temporalio/worker loads a native core-bridge built for glibc.
# The build context is an allow-list (.dockerignore): no .git, no .env files, no node_modules, no test data.

############################
# 1. build: dev dependencies, tsc, prebuilt workflow bundle
############################
FROM node:22-bookworm-slim AS build
WORKDIR /app

COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

COPY . .
# `npm run build` = tsc -p tsconfig.build.json && tsx scripts/build-bundle.ts (writes dist/workflow-bundle.js; tsx is a
# dev dependency, present in this stage only); neither reads tools/, test/ or bench/, which .dockerignore keeps out of
# the context (test/unit/production-image.test.ts).
# The checks fail the build early if the output layout the compose file relies on ever changes.
RUN npm run build \
 && test -f dist/worker.js \
 && test -f dist/src/main/api-server.js \
 && test -f dist/src/platform/db/migrate-cli.js \
 && test -f dist/src/platform/temporal/worker-health-cli.js \
 && test -f dist/workflow-bundle.js

############################
# 2. prod-deps: production dependencies only
############################
FROM node:22-bookworm-slim AS prod-deps
WORKDIR /app

COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

############################
# 3. runtime
############################
FROM node:22-bookworm-slim AS runtime

# The slim image has no system CA bundle. Node carries its own, but the worker's Rust core-bridge reads the
# system trust store for TLS to Temporal Cloud / a TLS-enabled cluster.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    INTERNAL_PORT=8081 \
    WORKER_METRICS_PORT=9464 \
    TEMPORAL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js

WORKDIR /app

# Owned by root and read-only to the runtime user: the service never writes into /app.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/dist ./dist
COPY migrations ./migrations

# `node` (uid 1000) ships with the official image.
USER node

EXPOSE 8080 8081 9464
CMD ["node", "dist/src/main/api-server.js"]
