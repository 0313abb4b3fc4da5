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
for t in responses actions task-events scores tenants audit; do topic "anbefal.$t.v1.dlq" 1; done

write() { kafka acls --add --allow-principal "User:$1" --operation Write --operation Describe --topic "$2"; }
read_() { kafka acls --add --allow-principal "User:$1" --operation Read --operation Describe --topic "$2"; }
group() { kafka acls --add --allow-principal "User:$1" --operation Read --group "$2"; }

write ingest anbefal.responses.v1
write ingest anbefal.audit.v1
for user in scoring closed-loop notify; do write "$user" anbefal.audit.v1; done
write scoring anbefal.scores.v1
read_ scoring anbefal.responses.v1
read_ scoring anbefal.tenants.v1
write scoring anbefal.responses.v1.dlq
write scoring anbefal.tenants.v1.dlq
group scoring anbefal-scoring
write closed-loop anbefal.actions.v1
for t in responses tenants task-events; do
  read_ closed-loop "anbefal.$t.v1"
  write closed-loop "anbefal.$t.v1.dlq"
done
group closed-loop anbefal-closed-loop
write notify anbefal.task-events.v1
for t in actions tenants audit; do
  read_ notify "anbefal.$t.v1"
  write notify "anbefal.$t.v1.dlq"
done
group notify anbefal-notify
echo "topics and ACLs in place"
