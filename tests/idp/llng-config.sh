#!/bin/bash
# Writes the configuration of a LemonLDAP::NG 2.16 portal (Debian's liblemonldap-ng-portal-perl)
# as a SAML 2.0 IdP for AWS and an OpenID provider (client aws-runas-test) into DIR, for a portal
# at BASE_URL (the test then runs plackup on it).
# Users of Debian's Demo backend: dwho/dwho, rtyler/rtyler; each gets one AWS role (Admin), since
# moto's AssumeRoleWithSAML takes one Role value only.
# IdP-initiated sign-in: BASE_URL/saml/singleSignOn?IDPInitiated=1&spConfKey=aws
# Usage: llng-config.sh DIR BASE_URL
set -euo pipefail
D=$(realpath -m "$1")
B=$2
mkdir -p "${D}"/{conf,sessions/lock,psessions/lock,cache,notifications}
sed -e "s|/var/lib/lemonldap-ng/conf|${D}/conf|; s|/var/lib/lemonldap-ng/cache|${D}/cache|" \
	/etc/lemonldap-ng/lemonldap-ng.ini >"${D}/lemonldap-ng.ini"
[[ -f "${D}/key.pem" ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=llng-test' \
	-keyout "${D}/key.pem" -out "${D}/cert.pem" 2>/dev/null
python3 - "${D}" "${B}" <<'PY'
import json, sys
D, B = sys.argv[1], sys.argv[2]
c = json.load(open('/var/lib/lemonldap-ng/conf/lmConf-1.json'))  # Debian's demo (authentication=Demo)
key, cert = open(D + '/key.pem').read(), open(D + '/cert.pem').read()
A = 'arn:aws:iam::123456789012'
c.update(
    domain='127.0.0.1', portal=B + '/', cfgNum=1,
    globalStorageOptions={'Directory': D + '/sessions', 'LockDirectory': D + '/sessions/lock',
                          'generateModule': 'Lemonldap::NG::Common::Apache::Session::Generate::SHA256'},
    persistentStorageOptions={'Directory': D + '/psessions', 'LockDirectory': D + '/psessions/lock'},
    notificationStorageOptions={'dirName': D + '/notifications'},
    localSessionStorageOptions=dict(c.get('localSessionStorageOptions', {}), cache_root=D + '/cache'),
    # OpenID provider (web identity tests): a public client with PKCE, no consent page.
    issuerDBOpenIDConnectActivation=1, oidcServicePrivateKeySig=key, oidcServicePublicKeySig=cert,
    oidcServiceKeyIdSig='test',
    oidcRPMetaDataOptions={'awsrunas': {
        'oidcRPMetaDataOptionsClientID': 'aws-runas-test', 'oidcRPMetaDataOptionsPublic': 1,
        'oidcRPMetaDataOptionsRequirePKCE': 1,
        'oidcRPMetaDataOptionsRedirectUris': 'http://127.0.0.1:8400/callback app:/callback',
        'oidcRPMetaDataOptionsIDTokenSignAlg': 'RS256', 'oidcRPMetaDataOptionsBypassConsent': 1,
        'oidcRPMetaDataOptionsRefreshToken': 1}},
    oidcRPMetaDataExportedVars={'awsrunas': {'email': 'mail', 'name': 'cn'}},
    issuerDBSAMLActivation=1, samlEntityID='#PORTAL#/saml/metadata',
    samlServicePrivateKeySig=key, samlServicePublicKeySig=cert,
    samlServicePrivateKeyEnc=key, samlServicePublicKeyEnc=cert,
    macros=dict(c.get('macros', {}), awsRole='"%s:role/Admin,%s:saml-provider/LLNG"' % (A, A)),
    samlSPMetaDataXML={'aws': {'samlSPMetaDataXML': '''<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:amazon:webservices">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAssertionsSigned="true">
  <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
  <md:AssertionConsumerService index="1" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://signin.aws.amazon.com/saml"/>
 </md:SPSSODescriptor></md:EntityDescriptor>'''}},
    samlSPMetaDataExportedAttributes={'aws': {
        'awsRole': '1;https://aws.amazon.com/SAML/Attributes/Role;urn:oasis:names:tc:SAML:2.0:attrname-format:uri;',
        'mail': '1;https://aws.amazon.com/SAML/Attributes/RoleSessionName;urn:oasis:names:tc:SAML:2.0:attrname-format:uri;'}},
    samlSPMetaDataOptions={'aws': {
        'samlSPMetaDataOptionsNameIDFormat': 'persistent', 'samlSPMetaDataOptionsSignSSOMessage': 1,
        'samlSPMetaDataOptionsCheckSSOMessageSignature': 0, 'samlSPMetaDataOptionsEnableIDPInitiatedURL': 1,
        'samlSPMetaDataOptionsNameIDSessionKey': 'uid', 'samlSPMetaDataOptionsSignatureMethod': 'RSA_SHA256'}})
json.dump(c, open(D + '/conf/lmConf-1.json', 'w'), indent=1)
PY
