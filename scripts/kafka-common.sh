# Helpers shared by scripts/apache-kafka.sh (one node) and scripts/apache-kafka-cluster.sh
# (several nodes). Source it; it defines functions only and changes no shell option.

# A TCP port on 127.0.0.1 that was free a moment ago.
kafka_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A fresh KRaft cluster id: 16 random bytes, URL-safe base64 without padding, never starting with
# '-' (Kafka's tools would read that as an option).
kafka_new_cluster_id() {
  python3 -c 'import base64,uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"): print(s); break'
}

# kafka_probe PORT [MIN_BROKERS]: succeeds when the broker on 127.0.0.1:PORT answers a Metadata
# request listing at least MIN_BROKERS brokers (default 1). The port alone opens before requests
# are served; a cluster's broker lists its peers only once they registered with the controller.
kafka_probe() {
  python3 - "$1" "${2:-1}" <<'PY'
import socket, struct, sys
port, min_brokers = int(sys.argv[1]), int(sys.argv[2])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=1)
    s.settimeout(2)
    client = b"oxbow-ready-probe"
    # Metadata v1 request: api_key 3, version 1, correlation id 1, client id; body: topics = [] (none).
    body = struct.pack(">hhih", 3, 1, 1, len(client)) + client + struct.pack(">i", 0)
    s.sendall(struct.pack(">i", len(body)) + body)
    buf = b""
    while len(buf) < 12:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit(1)
        buf += chunk
    _size, corr, brokers = struct.unpack(">iii", buf[:12])
    sys.exit(0 if corr == 1 and brokers >= min_brokers else 1)
except OSError:
    sys.exit(1)
PY
}
