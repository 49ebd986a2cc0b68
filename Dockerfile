# Cairn in a container: build with the Swift toolchain, run on Debian 12 slim.
#   docker build -t cairn:local .
#   docker run --rm -p 53:53/udp -p 53:53/tcp -v "$PWD/zones:/etc/cairn/zones:ro" \
#       -v cairn-data:/var/lib/cairn cairn:local
# The build context is the repository (.dockerignore keeps build trees and stores out).
# docker-compose.yml builds this image for its two Cairn nodes (services ns1 and ns2, one
# PostgreSQL store: docs/multi-node.md).

# ---- build: Swift 6 on Debian 12 (bookworm), with ldns' headers
FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libldns-dev libmaxminddb-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Manifest first, so that the dependency layer is cached across source edits.
# Package.resolved is not tracked in git: copied when present (the glob may match nothing).
COPY Package.swift Package.resol[v]ed ./
# The manifest names the build-tool plugin (the commit in `cairn --version`): its directory comes with it.
COPY Plugins ./Plugins
RUN swift package resolve
COPY Sources ./Sources
# Tests are not built, but the manifest names their directories.
COPY Tests ./Tests
COPY scripts/gen-cli-docs ./scripts/
RUN swift build -c release --product cairn --static-swift-stdlib \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/cairn" /out/cairn \
 && CAIRN_BIN=/out/cairn scripts/gen-cli-docs /out/docs

# ---- runtime: only the shared libraries the binary still links (ldns, libmaxminddb, SQLite, OpenSSL via ldns)
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libldns3 libmaxminddb0 libsqlite3-0 bind9-dnsutils \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/cairn --shell /usr/sbin/nologin cairn \
 && install -d -m 0755 /etc/cairn /etc/cairn/zones \
 && install -d -m 0711 /var/lib/cairn \
 && install -d -m 0755 /var/lib/GeoIP \
 && install -d -m 0700 -o cairn -g cairn /var/lib/cairn/cache
COPY --from=build /out/cairn /usr/local/bin/cairn
# Man pages and completions generated from the commands themselves (scripts/gen-cli-docs).
COPY --from=build /out/docs/man1/ /usr/share/man/man1/
COPY --from=build /out/docs/completions/cairn.bash /usr/share/bash-completion/completions/cairn
COPY --from=build /out/docs/completions/_cairn /usr/share/zsh/vendor-completions/_cairn
COPY --from=build /out/docs/completions/cairn.fish /usr/share/fish/vendor_completions.d/cairn.fish
COPY zones /etc/cairn/zones
VOLUME ["/var/lib/cairn"]
EXPOSE 53/udp 53/tcp 9153/tcp
# Starts as root to bind port 53, then runs as the user cairn (see docs/operations.md). /var/lib/cairn stays
# root's (0711): the user owns the store's files, never the directory, so it cannot swap them for links that
# root would follow at the next start (docs/security.md). With a PostgreSQL store the node's local cache
# (--store-cache) is written by the user, so it lives in the user's own /var/lib/cairn/cache (read without
# following links).
# The admin API stays on the container's loopback: `docker exec` to use it. /metrics is served without a token on
# 9153 (--metrics) for a Prometheus scraper.
# The zones and the store of `cairn serve` and of every command run in the container (`docker exec ... cairn
# token create` finds the server's store), as docs/operations.md, "Settings" describes; a compose file or
# `docker run -e` may set others.
ENV CAIRN_ZONES=/etc/cairn/zones CAIRN_STORE=/var/lib/cairn/cairn.sqlite
CMD ["cairn", "serve", "--dns", "0.0.0.0:53", "--api", "127.0.0.1:9053", "--metrics", "0.0.0.0:9153", "--user", "cairn"]
# Healthy = the DNS listener answers, whatever zones are mounted: `. SOA` gets an answer with a status
# (REFUSED when the root is not served) from a live server, and no reply at all from a dead or stuck one.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD dig +time=1 +tries=1 +norecurse @127.0.0.1 . SOA | grep -q 'status: ' || exit 1
