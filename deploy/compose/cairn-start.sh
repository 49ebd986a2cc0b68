#!/bin/sh
# The cairn service's command (docker-compose.yml): apply the compose GSLB file to the
# store in the data volume, then serve. Started as root; `cairn serve --user cairn`
# binds port 53 and then drops to the user cairn (docs/operations.md, Privileges).
set -eu
DB=/var/lib/cairn/cairn.sqlite
ZONES=/etc/cairn/zones
cairn apply -f /etc/cairn/gslb.yaml --db "$DB" --zones "$ZONES"
exec cairn serve --zones "$ZONES" --db "$DB" --dns 0.0.0.0:53 --api 127.0.0.1:9053 --user cairn
