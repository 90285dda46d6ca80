# garcom in a container: build on Debian 12, run on Debian 12 slim with only
# the two shared libraries it links (libconfig, inih; llhttp is compiled in).
#   docker build -t garcom .
#   docker run --rm -p 8080:8080 -v "$PWD/site:/usr/share/garcom/html:ro" garcom
# The image runs conf/container.conf: port 8080 on IPv4 and IPv6, a worker
# per CPU, errors on stderr, the access log on stdout, /metrics for
# Prometheus and the HEALTHCHECK. tests/integration/test_container.py runs
# this file's CMD and HEALTHCHECK with that configuration on the test machine.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        gcc make pkg-config libc6-dev node-llhttp libconfig-dev libinih-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./configure --prefix=/usr \
 && make -j"$(nproc)" \
 && make install DESTDIR=/out

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libconfig9 libinih1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin garcom
COPY --from=build /out/usr/sbin/garcom /usr/sbin/garcom
COPY --from=build /out/usr/share/garcom /usr/share/garcom
COPY --from=build /out/etc/garcom /etc/garcom
COPY conf/container.conf /etc/garcom/container.conf
USER garcom
EXPOSE 8080
# SIGTERM drains (requests in flight complete); it is Docker's default too.
STOPSIGNAL SIGTERM
# bash (essential in Debian) speaks HTTP over /dev/tcp: no curl in the image.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /metrics HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 2 line <&3 && [[ $line == 'HTTP/1.1 200 '* ]]"]
CMD ["/usr/sbin/garcom", "-c", "/etc/garcom/container.conf"]
