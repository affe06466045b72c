# The images of Switchboard's four deployables, one target each:
#   gateway, posts, accounts, presence  →  `make images` builds them all.
# The build reads only .tmp/images/<name>/ (.dockerignore): each deployable's dist/ and its
# production node_modules, staged from the installed and built tree by `make images`, or by hand:
#   npm ci && npx tsc -b && node scripts/images/stage.mjs gateway .tmp/images/gateway
#   docker build --target gateway -t switchboard-gateway .
# so the build itself needs no network. See docs/images.md.
ARG BASE=node:20-bookworm-slim

# ---- staged files, checked with the image's own node -------------------------------------
# keep-native.mjs keeps the one uWebSockets.js binary for this node's platform/arch/ABI and
# loads it (the build fails if the image's node or glibc cannot), then removes itself.
FROM ${BASE} AS gateway-files
COPY .tmp/images/gateway/ /app/
RUN ["node", "/app/keep-native.mjs"]

FROM ${BASE} AS posts-files
COPY .tmp/images/posts/ /app/
RUN ["node", "/app/keep-native.mjs"]

FROM ${BASE} AS accounts-files
COPY .tmp/images/accounts/ /app/
RUN ["node", "/app/keep-native.mjs"]

FROM ${BASE} AS presence-files
COPY .tmp/images/presence/ /app/
RUN ["node", "/app/keep-native.mjs"]

# ---- what every image shares ----------------------------------------------------------------
FROM ${BASE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/switchboard/switchboard
LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.vendor="Switchboard" \
      org.opencontainers.image.licenses="UNLICENSED"
ENV NODE_ENV=production HOME=/tmp
WORKDIR /app
# Files stay root's and read-only to the process; it writes only to /tmp (an emptyDir).
USER 10001:10001

# ---- the deployables: node as PID 1 (exec form), SIGTERM handled by the app's lifecycle ---
FROM runtime AS gateway
LABEL org.opencontainers.image.title="switchboard-gateway" \
      org.opencontainers.image.description="Switchboard gateway: Mattermost WebSocket edge and REST v4 subset"
COPY --from=gateway-files /app/ /app/
CMD ["node", "gateway/dist/main.js"]

FROM runtime AS posts
LABEL org.opencontainers.image.title="switchboard-posts" \
      org.opencontainers.image.description="Switchboard posts: teams, channels, memberships, posts and reactions over gRPC"
COPY --from=posts-files /app/ /app/
CMD ["node", "services/posts/dist/main.js"]

FROM runtime AS accounts
LABEL org.opencontainers.image.title="switchboard-accounts" \
      org.opencontainers.image.description="Switchboard accounts: users, sessions and token signing keys over gRPC"
COPY --from=accounts-files /app/ /app/
CMD ["node", "services/accounts/dist/main.js"]

FROM runtime AS presence
LABEL org.opencontainers.image.title="switchboard-presence" \
      org.opencontainers.image.description="Switchboard presence: user statuses over gRPC"
COPY --from=presence-files /app/ /app/
CMD ["node", "services/presence/dist/main.js"]
