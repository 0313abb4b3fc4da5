#!/usr/bin/env bash
# Run once by compose's kafka-acls service (as the admin user): the topics, then each service's
# ACLs. Mirrors deploy/k8s/kafka-topics.yaml and kafka-users.yaml; tests/deploy checks both
# against anbefal.common.topics.
set -euo pipefail
props=/tmp/admin.properties
printf 'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.truststore.type=PEM\nssl.truststore.location=/etc/kafka/secrets/ca.crt\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' "$KAFKA_ADMIN_PASSWORD" > "$props"
kafka() { "/opt/kafka/bin/kafka-$1.sh" --bootstrap-server kafka:9092 --command-config "$props" "${@:2}"; }

topic() {  # name partitions [config]
  kafka topics --create --if-not-exists --topic "$1" --partitions "$2" --replication-factor 1 ${3:+--config "$3"}
}
topic anbefal.responses.v1 6
topic anbefal.actions.v1 6
topic anbefal.task-events.v1 6
topic anbefal.scores.v1 3
topic anbefal.tenants.v1 1 cleanup.policy=compact
topic anbefal.audit.v1 3
topic anbefal.erasures.v1 3 retention.ms=604800000
topic anbefal.erasure-reports.v1 3
for t in responses actions task-events scores tenants audit erasures erasure-reports; do
  topic "anbefal.$t.v1.dlq" 1
done

write() { kafka acls --add --allow-principal "User:$1" --operation Write --operation Describe --topic "$2"; }
read_() { kafka acls --add --allow-principal "User:$1" --operation Read --operation Describe --topic "$2"; }
group() { kafka acls --add --allow-principal "User:$1" --operation Read --group "$2"; }

acls() {  # user group "topics it writes" "topics it reads"
  local t
  for t in $3; do write "$1" "$t"; done
  for t in $4; do read_ "$1" "$t"; done
  group "$1" "$2"
}
acls ingest anbefal-ingest \
  "anbefal.responses.v1 anbefal.audit.v1 anbefal.erasures.v1 anbefal.erasure-reports.v1 anbefal.erasures.v1.dlq anbefal.erasure-reports.v1.dlq anbefal.tenants.v1.dlq" \
  "anbefal.erasures.v1 anbefal.erasure-reports.v1 anbefal.tenants.v1"
acls scoring anbefal-scoring \
  "anbefal.scores.v1 anbefal.audit.v1 anbefal.erasure-reports.v1 anbefal.responses.v1.dlq anbefal.tenants.v1.dlq anbefal.erasures.v1.dlq" \
  "anbefal.responses.v1 anbefal.tenants.v1 anbefal.erasures.v1"
acls closed-loop anbefal-closed-loop \
  "anbefal.actions.v1 anbefal.audit.v1 anbefal.erasure-reports.v1 anbefal.responses.v1.dlq anbefal.tenants.v1.dlq anbefal.task-events.v1.dlq anbefal.erasures.v1.dlq" \
  "anbefal.responses.v1 anbefal.tenants.v1 anbefal.task-events.v1 anbefal.erasures.v1"
acls notify anbefal-notify \
  "anbefal.task-events.v1 anbefal.audit.v1 anbefal.erasure-reports.v1 anbefal.actions.v1.dlq anbefal.tenants.v1.dlq anbefal.audit.v1.dlq anbefal.erasures.v1.dlq" \
  "anbefal.actions.v1 anbefal.tenants.v1 anbefal.audit.v1 anbefal.erasures.v1"
echo "topics and ACLs in place"
