# syntax=docker/dockerfile:1
# The exporter (and the demo simulator, same image). Multi-stage: production dependencies are
# installed in a throw-away stage; the final image holds node_modules, the sources and the
# category rules, runs as the unprivileged `node` user and reports its health.

FROM node:22-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:22-alpine
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY config ./config
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tsx runs the TypeScript sources directly (it is a production dependency); SIGTERM reaches
# node, which stops accepting, finishes requests in flight and exits 0.
CMD ["node", "--import", "tsx", "src/main.ts"]
