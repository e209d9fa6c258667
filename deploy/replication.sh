#!/bin/bash
# Run once by the postgis image's entrypoint when the primary's data folder is created
# (/docker-entrypoint-initdb.d): allow replication connections from the compose network, with
# the same password authentication as ordinary ones (the image's pg_hba has "host all all all",
# and "all" does not cover replication).
set -euo pipefail
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
