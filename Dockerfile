# The bundled server as a container image (README "Deploy"):
#   docker build -t nms-viewer-auth .
#   docker run --rm -p 1935:1935 -p 8000:8000 -p 8001:8001 -e VA_API_TOKEN="$(openssl rand -base64 32)" \
#     -v nms-va-data:/var/lib/nms-viewer-auth nms-viewer-auth
# Configuration: /etc/nms-viewer-auth/config.yaml (samples/container/config.yaml; mount your own over the
# volume), per-deployment settings as VA_… variables (README "Environment variables").

# Build stage: the whole workspace (TypeScript, esbuild) builds and packs both packages, then the two
# tarballs are installed as an operator installs them (runtime dependencies only, better-sqlite3 built).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json LICENSE CHANGELOG.md ./
COPY types ./types
COPY scripts ./scripts
COPY schema ./schema
COPY console ./console
COPY docs ./docs
COPY samples ./samples
COPY plugin/package.json plugin/README.md plugin/tsconfig.build.json ./plugin/
COPY plugin/src ./plugin/src
COPY server/package.json server/README.md server/tsconfig.build.json ./server/
COPY server/src ./server/src
RUN npm ci --no-audit --no-fund && npm pack --workspaces --pack-destination /pkg
WORKDIR /app
RUN echo '{"name":"nms-viewer-auth-image","version":"1.0.0","private":true}' > package.json \
  && npm install --omit=dev --no-audit --no-fund /pkg/nms-viewer-auth-0*.tgz /pkg/nms-viewer-auth-server-0*.tgz

# Runtime stage: node, ffmpeg, tini and the installed packages; no compiler, no sources.
FROM node:24-bookworm-slim
# tini is PID 1: it forwards SIGTERM/SIGINT/SIGHUP to the server and reaps the ffmpeg lifeline watchers
# that outlive their ffmpeg (orphans are re-parented to PID 1, and node does not reap other processes' children).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
RUN chmod 755 node_modules/nms-viewer-auth-server/dist/main.js \
  && ln -s /app/node_modules/nms-viewer-auth-server/dist/main.js /usr/local/bin/nms-viewer-auth \
  && mkdir -p /etc/nms-viewer-auth /var/lib/nms-viewer-auth \
  && chown node:node /var/lib/nms-viewer-auth
COPY samples/container/config.yaml /etc/nms-viewer-auth/config.yaml
ENV NODE_ENV=production \
    VA_CONFIG=/etc/nms-viewer-auth/config.yaml \
    VA_DATA_DIR=/var/lib/nms-viewer-auth
VOLUME ["/etc/nms-viewer-auth", "/var/lib/nms-viewer-auth"]
# RTMP, HTTP (FLV, WS-FLV, HLS), management API (probes: /api/live, /api/ready).
EXPOSE 1935 8000 8001
# The image's own user (uid 1000), not root.
USER node
WORKDIR /var/lib/nms-viewer-auth
# Liveness without curl: node's fetch against the API's unauthenticated probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.VA_API_PORT || '8001') + '/api/live').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# The server ends every session (reason shutdown), stops ffmpeg and exits 0 within
# server.stopTimeoutMs + 5 s (10 s by default): give `docker stop` more, e.g. `docker stop -t 15`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "nms-viewer-auth"]
