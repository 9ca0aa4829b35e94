#!/bin/sh
# A throw-away CA, a broker certificate for 127.0.0.1 and a client certificate, as a Choria
# network has them (client certname <name>.mcollective), written to DIR.
set -eu
DIR=$1
cd "$DIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=choria-it-ca" -keyout ca.key -out ca.pem 2>/dev/null
issue() {  # issue NAME SUBJECT EXTENSIONS
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
issue broker "/CN=localhost" "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
issue client "/CN=it.mcollective" "extendedKeyUsage=clientAuth"
