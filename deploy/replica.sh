#!/bin/bash
# The scale profile's read replica (docker-compose.yml, service db-replica), run as postgres.
# First start: a base backup of the primary — -R writes standby.signal and primary_conninfo,
# -X stream copies the WAL written meanwhile, -C -S creates a replication slot so the primary
# keeps the WAL this replica still needs while it is down. Every start: a hot standby.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h db -U jurisgrid -D "$PGDATA" -R -X stream -C -S jurisgrid_replica_1 -c fast; do
    echo "waiting for the primary"; rm -rf "${PGDATA:?}"/*; sleep 2
  done
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
