# kfix in a container, for CI systems that prefer images:
#   docker build -t kfix .
#   docker run --rm -v "$PWD:/src" kfix scan --format sarif . > kfix.sarif
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/src" kfix apply --write .
# The base is pinned to an exact Python and Debian release; bump it deliberately.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /build
COPY pyproject.toml README.md LICENSE ./
COPY fixer ./fixer
COPY transforms ./transforms
RUN python -m venv /opt/kfix \
 && /opt/kfix/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && /opt/kfix/bin/kfix --version

FROM ${PYTHON_IMAGE}
# git: for `kfix pr` and `apply --branch`, and so .gitignore counts inside mounted repositories' work trees
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /src kfix \
 && git config --system --add safe.directory '*'
COPY --from=build /opt/kfix /opt/kfix
ENV PATH=/opt/kfix/bin:$PATH PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /src
ENTRYPOINT ["kfix"]
CMD ["--help"]
