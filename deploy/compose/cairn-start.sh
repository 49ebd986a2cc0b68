#!/bin/sh
# The command of docker-compose.yml's Cairn nodes (ns1, ns2): apply the compose GSLB file
# to the store, then serve. Started as root; `cairn serve --user cairn` binds port 53 and
# then drops to the user cairn (docs/operations.md, Privileges).
#
# CAIRN_STORE: the store's URL (docker-compose.yml: the shared PostgreSQL,
#   postgres://cairn@192.0.2.70:5432/cairn?...); unset: a SQLite file in the data volume
#   (one node alone, as `docker run` of the image would).
# CAIRN_DB_PASSWORD_FILE: a file holding the database password (the compose secret
#   /run/secrets/db-password), exported as PGPASSWORD: a password never goes in the URL.
# CAIRN_NODE_NAME: --node-name, the name the audit log records for this node's writes.
#
# Every node applies the same file: the writes are serialised in the database, and the
# second node's apply finds nothing to change.
set -eu
DB=/var/lib/cairn/cairn.sqlite
ZONES=/etc/cairn/zones
STORE=${CAIRN_STORE:-sqlite:$DB}
if [ -n "${CAIRN_DB_PASSWORD_FILE:-}" ]; then
    PGPASSWORD=$(cat "$CAIRN_DB_PASSWORD_FILE")
    export PGPASSWORD
fi
cairn apply -f /etc/cairn/gslb.yaml --store "$STORE" --zones "$ZONES"
exec cairn serve --zones "$ZONES" --store "$STORE" ${CAIRN_NODE_NAME:+--node-name "$CAIRN_NODE_NAME"} \
    --store-cache /var/lib/cairn/cache/store-cache.json \
    --dns 0.0.0.0:53 --api 127.0.0.1:9053 --metrics 0.0.0.0:9153 --user cairn
