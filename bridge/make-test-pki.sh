#!/bin/sh
# make-test-pki.sh DIR NAME... - a DDS Security set-up for a TEST deployment of shmbridge:
# one certificate authority (used as both identity CA and permissions CA), a governance
# document, and for each NAME an identity (key and certificate) and a permissions document,
# all signed by the CA with openssl. Each DIR/NAME is what `shmbridge --security DIR/NAME` reads.
#
# The governance: authenticated participants only, discovery, liveliness and RTPS messages
# encrypted, read and write access control and encrypted payloads on every topic. Each NAME
# may publish and subscribe shmbus/* in domains 0-230 (the most Cyclone DDS 0.10 accepts in these documents), nothing else.
#
# The CA's private key stays in DIR/ca_key.pem, unencrypted: fine for a test, not for a real
# deployment (docs/DEPLOYMENT.md, "Setting up DDS Security", says what to do instead).
# Needs openssl. Exit status: non-zero on any error.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 DIR NAME..." >&2
  exit 2
fi
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
umask 077
days=3650
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
sign() { openssl smime -sign -in "$1" -text -out "$2" -signer ca.pem -inkey ca_key.pem; }

key ca_key.pem
openssl req -x509 -new -key ca_key.pem -out ca.pem -days $days -sha256 \
  -subj "/C=NL/O=shmbus test/CN=shmbus test CA"

cat >governance.xml <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:noNamespaceSchemaLocation="http://www.omg.org/spec/DDS-SECURITY/20170901/omg_shared_ca_governance.xsd">
  <domain_access_rules>
    <domain_rule>
      <domains><id_range><min>0</min><max>230</max></id_range></domains>
      <allow_unauthenticated_participants>false</allow_unauthenticated_participants>
      <enable_join_access_control>true</enable_join_access_control>
      <discovery_protection_kind>ENCRYPT</discovery_protection_kind>
      <liveliness_protection_kind>ENCRYPT</liveliness_protection_kind>
      <rtps_protection_kind>ENCRYPT</rtps_protection_kind>
      <topic_access_rules>
        <topic_rule>
          <topic_expression>*</topic_expression>
          <enable_discovery_protection>true</enable_discovery_protection>
          <enable_liveliness_protection>true</enable_liveliness_protection>
          <enable_read_access_control>true</enable_read_access_control>
          <enable_write_access_control>true</enable_write_access_control>
          <metadata_protection_kind>ENCRYPT</metadata_protection_kind>
          <data_protection_kind>ENCRYPT</data_protection_kind>
        </topic_rule>
      </topic_access_rules>
    </domain_rule>
  </domain_access_rules>
</dds>
XML
sign governance.xml governance.p7s

for name in "$@"; do
  mkdir -p "$name"
  key "$name/identity_key.pem"
  openssl req -new -key "$name/identity_key.pem" -out "$name.csr" \
    -subj "/C=NL/O=shmbus test/CN=$name"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca_key.pem -CAcreateserial \
    -out "$name/identity.pem" -days $days -sha256 2>/dev/null
  rm -f "$name.csr"
  cat >"$name/permissions.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:noNamespaceSchemaLocation="http://www.omg.org/spec/DDS-SECURITY/20170901/omg_shared_ca_permissions.xsd">
  <permissions>
    <grant name="$name">
      <subject_name>CN=$name,O=shmbus test,C=NL</subject_name>
      <validity><not_before>2020-01-01T00:00:00</not_before><not_after>2045-01-01T00:00:00</not_after></validity>
      <allow_rule>
        <domains><id_range><min>0</min><max>230</max></id_range></domains>
        <publish><topics><topic>shmbus/*</topic></topics></publish>
        <subscribe><topics><topic>shmbus/*</topic></topics></subscribe>
      </allow_rule>
      <default>DENY</default>
    </grant>
  </permissions>
</dds>
XML
  sign "$name/permissions.xml" "$name/permissions.p7s"
  cp ca.pem "$name/identity_ca.pem"
  cp ca.pem "$name/permissions_ca.pem"
  cp governance.p7s "$name/governance.p7s"
done
