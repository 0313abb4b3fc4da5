#!/usr/bin/env bash
# Creates what deploy/compose needs and git must never hold: random secrets in .env (compose
# reads it) and, in secrets/, a CA and the broker's TLS certificate for Kafka's SASL_SSL
# listener. Run once from anywhere; it refuses to overwrite an existing .env.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -e .env ]]; then echo ".env exists; remove it (and secrets/) to start over" >&2; exit 1; fi
mkdir -p secrets && chmod 700 secrets
rand() { openssl rand -base64 48 | tr -d '/+=\n' | cut -c1-40; }
openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=anbefal-compose-ca" \
  -keyout secrets/ca.key -out secrets/ca.crt 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=kafka" -keyout secrets/broker.key \
  -out secrets/broker.csr 2>/dev/null
printf 'subjectAltName=DNS:kafka\n' > secrets/san.ext
openssl x509 -req -in secrets/broker.csr -CA secrets/ca.crt -CAkey secrets/ca.key \
  -CAcreateserial -days 825 -extfile secrets/san.ext -out secrets/broker.crt 2>/dev/null
cat secrets/broker.key secrets/broker.crt > secrets/broker.pem
rm secrets/broker.csr secrets/san.ext
chmod 644 secrets/ca.crt secrets/broker.pem
{
  echo "ANBEFAL_JWT_SECRET=$(rand)"
  echo "ANBEFAL_DATA_KEYS=k1:$(openssl rand 32 | basenc --base64url | tr -d '=')"
  echo "ANBEFAL_UNSUBSCRIBE_KEYS=u1:$(openssl rand 32 | basenc --base64url | tr -d '=')"
  echo "ANBEFAL_DB_PASSWORD=$(rand)"
  echo "KAFKA_ADMIN_PASSWORD=$(rand)"
  for user in INGEST SCORING CLOSED_LOOP NOTIFY; do echo "KAFKA_${user}_PASSWORD=$(rand)"; done
  echo "KAFKA_CLUSTER_ID=$(openssl rand 16 | basenc --base64url | tr -d '=')"
} > .env
chmod 600 .env
echo "wrote deploy/compose/.env and deploy/compose/secrets/; now pin the image digests (see compose.yaml)"
