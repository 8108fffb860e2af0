# The paywatch worker, CLI and dashboard (docker-compose.yml: workers, simulator, dashboard).
FROM python:3.11.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY models ./models
COPY streams ./streams
COPY sinks ./sinks
COPY dashboard ./dashboard
COPY deploy/targets ./deploy/targets
COPY deploy/runbooks.md ./deploy/runbooks.md
RUN pip install --no-cache-dir .
ENV PAYWATCH_DATA_DIR=/var/lib/paywatch \
    PAYWATCH_TARGETS_DIR=/app/deploy/targets \
    PAYWATCH_WEB_HOST=0.0.0.0
VOLUME /var/lib/paywatch
EXPOSE 6066 6070
ENTRYPOINT ["paywatch"]
CMD ["worker"]
