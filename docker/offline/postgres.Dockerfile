# PostgreSQL 15 from Debian's packages, for docker/compose.offline.yaml where the official image
# cannot be pulled. BASE is the Debian base with postgresql-15 that docker/build-offline makes.
# It behaves as the official image does for the compose file: POSTGRES_PASSWORD, the scripts in
# /docker-entrypoint-initdb.d on first start, the data in /var/lib/postgresql/data, and any
# other command (psql, pg_isready) run as given.
ARG BASE
FROM ${BASE}
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
RUN install --directory --owner=postgres --group=postgres --mode=0700 /var/lib/postgresql/data \
    && install --directory --owner=postgres --group=postgres --mode=2775 /var/run/postgresql \
    && install --directory /docker-entrypoint-initdb.d
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint"]
CMD ["postgres"]
