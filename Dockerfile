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
# A 2 MB young generation (V8's default is 16 MB): under load RSS stayed near 100 MB instead of
# 175 MB with PostgreSQL at 4 MB, and 2 MB took another 4-6 MB off the embedded store, with peak
# throughput within the bench's noise (bench/README.md, soak).
ENV NODE_OPTIONS=--max-semi-space-size=2
# glibc's malloc with fixed thresholds: by default, once a large block it had mapped is freed, it
# serves blocks up to that size from its heap and keeps the freed pages (16 MB held within minutes
# of the soak). At 1 MB, larger blocks are mapped and returned when freed; glibc's starting 128 kB
# slowed bulk events and JWKS floods with system calls (bench/README.md, soak).
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=1048576
VOLUME ["/var/lib/maxconf"]
# 8080: the API (behind APIM); 9464: Prometheus metrics (keep it off the public path).
EXPOSE 8080 9464
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/public/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
# V8 flags NODE_OPTIONS does not accept (package.json's start script runs the same, with the same
# GLIBC_TUNABLES; bench/README.md):
# PGlite's WASM compiled by the baseline tier only (the optimising tier kept 40-100 MB resident), and the
# old generation grown at most 1.3x past what a full collection kept (V8 let it reach 4x under load),
# and no Maglev tier between bytecode and TurboFan (on Node.js 24 it held 12-15 MB of code and compiler
# memory; throughput within noise).
CMD ["node", "--liftoff-only", "--heap-growing-percent=30", "--no-maglev", "dist/main.js"]
