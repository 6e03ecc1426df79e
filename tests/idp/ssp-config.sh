#!/bin/bash
# Writes the configuration of a SimpleSAMLphp 1.19 (Debian's simplesamlphp package) SAML 2.0 IdP
# for AWS into DIR, for a server at BASE_URL (the test then runs `php -S` on it). Users:
#   alice / alice-password: one role (moto's AssumeRoleWithSAML takes one Role value only)
#   bob / bob-password:     two roles (the role-choice test, which stops before STS)
# With ACS_URL, a second SP, urn:aws-runas:browser, posts its assertions there (aws-runas's
# loopback endpoint for the browser provider).
# Usage: ssp-config.sh DIR BASE_URL [ACS_URL]
set -euo pipefail
D=$(realpath -m "$1")
B=$2
ACS=${3:-}
mkdir -p "${D}"/{config,metadata,cert,tmp,log,data}
[[ -f "${D}/cert/idp.pem" ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=test-idp' \
	-keyout "${D}/cert/idp.pem" -out "${D}/cert/idp.crt" 2>/dev/null
cat >"${D}/config/config.php" <<PHP
<?php
\$config = [
  'baseurlpath' => '${B}/', 'certdir' => '${D}/cert/', 'loggingdir' => '${D}/log/', 'datadir' => '${D}/data/',
  'tempdir' => '${D}/tmp/', 'metadatadir' => '${D}/metadata/',
  'metadata.sources' => [['type' => 'flatfile', 'directory' => '${D}/metadata/']],
  'secretsalt' => 'test-salt', 'auth.adminpassword' => 'test-admin', 'technicalcontact_email' => 'test@example.org',
  'timezone' => 'UTC', 'logging.handler' => 'file', 'logging.logfile' => 'ssp.log', 'logging.level' => SimpleSAML\Logger::INFO,
  'enable.saml20-idp' => true,
  'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
  'store.type' => 'phpsession', 'session.phpsession.savepath' => '${D}/tmp/',
  'session.cookie.secure' => false,
];
PHP
A=arn:aws:iam::123456789012
cat >"${D}/config/authsources.php" <<PHP
<?php
\$config = [
  'admin' => ['core:AdminPassword'],
  'example-userpass' => ['exampleauth:UserPass',
    'alice:alice-password' => [
      'uid' => ['alice'],
      'https://aws.amazon.com/SAML/Attributes/RoleSessionName' => ['alice@example.org'],
      'https://aws.amazon.com/SAML/Attributes/Role' => ['${A}:role/Admin,${A}:saml-provider/LocalSSP'],
      'https://aws.amazon.com/SAML/Attributes/SessionDuration' => ['3600'],
    ],
    'bob:bob-password' => [
      'uid' => ['bob'],
      'https://aws.amazon.com/SAML/Attributes/RoleSessionName' => ['bob@example.org'],
      'https://aws.amazon.com/SAML/Attributes/Role' => [
        '${A}:role/Admin,${A}:saml-provider/LocalSSP', '${A}:role/ReadOnly,${A}:saml-provider/LocalSSP'],
    ],
  ],
];
PHP
cat >"${D}/metadata/saml20-idp-hosted.php" <<'PHP'
<?php
$metadata['__DYNAMIC:1__'] = ['host' => '__DEFAULT__', 'privatekey' => 'idp.pem', 'certificate' => 'idp.crt',
  'auth' => 'example-userpass', 'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  'saml20.sign.response' => true, 'saml20.sign.assertion' => true];
PHP
cat >"${D}/metadata/saml20-sp-remote.php" <<'PHP'
<?php
$metadata['urn:amazon:webservices'] = [
  'AssertionConsumerService' => 'https://signin.aws.amazon.com/saml',
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', 'simplesaml.nameidattribute' => 'uid',
  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri'];
PHP
if [[ -n "${ACS}" ]]; then
	cat >>"${D}/metadata/saml20-sp-remote.php" <<PHP
\$metadata['urn:aws-runas:browser'] = [
  'AssertionConsumerService' => '${ACS}',
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', 'simplesaml.nameidattribute' => 'uid',
  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri'];
PHP
fi
