# syntax=docker/dockerfile:1
# MaxConf gateway. Build stage: dev dependencies, TypeScript build.
# Runtime stage: production dependencies only, non-root, NODE_ENV=production.
# .ci/container-check performs the runtime stage's steps without a container engine.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
# flock(1) (util-linux, essential in Debian) locks the data directory to one process (src/store/directory-lock.ts).
RUN command -v flock >/dev/null && mkdir -p /var/lib/maxconf && chown node:node /var/lib/maxconf
USER node
ENV DATA_DIR=/var/lib/maxconf PORT=8080 METRICS_PORT=9464
VOLUME ["/var/lib/maxconf"]
# 8080: the API (behind APIM); 9464: Prometheus metrics (keep it off the public path).
EXPOSE 8080 9464
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/public/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
# Two heap limits Node.js documents, which keep the gateway within its memory goals on Node.js 24
# (bench/README.md, "Runtime settings": what each saves and costs, and what else was tried).
CMD ["node", "--max-semi-space-size=2", "--max-old-space-size=128", "dist/main.js"]
