"""A TLS front for a plain-HTTP loopback server: what an IdP or endpoint with a certificate from
a private CA looks like. Each connection is decrypted with CERT/KEY and its bytes relayed to
127.0.0.1:UPSTREAM and back. A client that rejects the certificate just ends its connection.

Usage: python3 tls_proxy.py CERT KEY UPSTREAM -> prints "PORT <n>" once listening on 127.0.0.1;
exits when stdin closes.
"""

import socket
import ssl
import sys
import threading


def pump(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(raw, context, upstream):
    try:
        client = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()  # the client did not trust us: nothing to relay
        return
    try:
        backend = socket.create_connection(("127.0.0.1", upstream), timeout=30)
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(backend, client), daemon=True).start()
    pump(client, backend)


def main():
    cert, key, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print("PORT %d" % listener.getsockname()[1], flush=True)

    def accept():
        while True:
            raw, _ = listener.accept()
            raw.settimeout(30)
            threading.Thread(target=serve, args=(raw, context, upstream), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # the test holds our stdin: its end is ours


main()
