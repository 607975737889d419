# syntax=docker/dockerfile:1
# The exporter (and the demo simulator, same image). Multi-stage: the TypeScript is compiled to
# JavaScript in a build stage (npm run build, tsc); production dependencies are installed in a
# stage of their own; the final image holds only those, the compiled program and the category
# rules — no tsx, no TypeScript, no sources — runs as the unprivileged `node` user (uid 1000) and
# reports readiness as its health.

FROM node:24-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-alpine
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY config ./config
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
# Healthy means ready: the database answers and the migrations are applied (/readyz), not merely
# that the process runs.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node, which stops accepting, finishes requests in flight and exits 0.
# Secrets may come from files: <NAME>_FILE=/run/secrets/<name> (docker and Kubernetes secrets).
# A young generation of 8 MB semi-spaces keeps the process under 250 MiB through bursts (Node 24
# sizes it to the machine: 352 MiB in npm run bench), and an old generation allowed to grow to
# twice what survived the last full collection keeps it there while a backlog is applied
# (247 -> 179 MiB; docs/performance.md#memory). The same command as `npm run start:dist`
# (test/build.test.ts keeps them equal).
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "dist/main.js"]
