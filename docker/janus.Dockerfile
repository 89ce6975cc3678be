# A stand-alone Janus for the scaled topology (docker/compose.yaml). The WebSocket API listens on all
# interfaces of the compose network; do not publish port 8188 outside it, it has no authentication.
FROM debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends janus tini \
 && rm -rf /var/lib/apt/lists/*
COPY docker/janus/ /etc/janus-mccs/
# Module folders depend on the architecture (/usr/lib/<multiarch>/janus); ask dpkg where they are.
RUN lib="$(dirname "$(dpkg -L janus | grep '/janus/plugins$')")" \
 && test -d "$lib/transports" \
 && sed -i "s#@JANUS_LIB@#$lib#g" /etc/janus-mccs/janus.jcfg \
 && useradd --system --no-create-home janus
USER janus
EXPOSE 8188
# JANUS_PUBLIC_IP: the address browsers reach this host on; Janus then advertises it in ICE candidates.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sh", "-c", "exec janus --configs-folder=/etc/janus-mccs --config=/etc/janus-mccs/janus.jcfg --disable-colors ${JANUS_PUBLIC_IP:+--nat-1-1=$JANUS_PUBLIC_IP}"]
