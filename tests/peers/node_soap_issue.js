// Drive a running sts instance with npm `soap`, generated from its WSDL alone.
// usage: node node_soap_issue.js WSDL_URL USERNAME PASSWORD OUT_DIR
// For SOAP 1.1 and 1.2: calls Issue with WS-Security UsernameToken (text), checks the parsed
// reply, and writes the raw assertion text to OUT_DIR/node-soap-<version>.xml.
const fs = require('fs');
const path = require('path');
const soap = require(process.env.NODE_SOAP_PATH || 'soap');

const [url, user, password, outDir] = process.argv.slice(2);
const WST = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512';
const WSP = 'http://schemas.xmlsoap.org/ws/2004/09/policy';
const WSA = 'http://www.w3.org/2005/08/addressing';
const SAMLV2 = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0';

function fail(msg) { console.error('node-soap FAIL:', msg); process.exit(1); }

(async () => {
  for (const [version, opts] of [['soap11', {}], ['soap12', { forceSoap12Headers: true }]]) {
    const client = await soap.createClientAsync(url, opts);
    const ops = Object.keys(client.describe().SecurityTokenService.STS_Port);
    // Exactly the operations the STS serves (the demo instance signs, so it renews).
    if (ops.join() !== 'Issue,Validate,Cancel,RequestCollection,Renew') fail(`operations are not Issue,Validate,Cancel,RequestCollection,Renew: ${ops}`);
    client.setSecurity(new soap.WSSecurity(user, password, { passwordType: 'PasswordText' }));
    const [result, rawResponse] = await client.IssueAsync({
      attributes: { Context: 'urn:uuid:ctx-node' },
      RequestType: WST + '/Issue',
      TokenType: SAMLV2,
      KeyType: WST + '/Bearer',
      'wsp:AppliesTo': { attributes: { 'xmlns:wsp': WSP },
        'wsa:EndpointReference': { attributes: { 'xmlns:wsa': WSA }, 'wsa:Address': 'urn:node:rp' } },
    });
    const envNs = version === 'soap12' ? 'http://www.w3.org/2003/05/soap-envelope' : 'http://schemas.xmlsoap.org/soap/envelope/';
    if (!rawResponse.includes(envNs)) fail(`${version}: reply is not in ${envNs}`);
    const rstr = result.RequestSecurityTokenResponse;
    const first = Array.isArray(rstr) ? rstr[0] : rstr;
    if (!first) fail(`${version}: no RSTR in ${JSON.stringify(result)}`);
    if (first.attributes.Context !== 'urn:uuid:ctx-node') fail(`${version}: Context ${JSON.stringify(first.attributes)}`);
    if (first.TokenType !== SAMLV2) fail(`${version}: TokenType ${first.TokenType}`);
    if (!first.RequestedSecurityToken) fail(`${version}: no RequestedSecurityToken`);
    const start = rawResponse.indexOf('<saml2:Assertion');
    const end = rawResponse.indexOf('</saml2:Assertion>');
    if (start < 0 || end < 0) fail(`${version}: no assertion in raw response`);
    const assertion = rawResponse.slice(start, end + '</saml2:Assertion>'.length);
    if (!assertion.includes('<saml2:Audience>urn:node:rp</saml2:Audience>')) fail(`${version}: audience`);
    fs.writeFileSync(path.join(outDir, `node-soap-${version}.xml`), assertion);
    console.log('node-soap', version, 'issued');
  }
  console.log('node-soap OK');
})().catch((e) => fail(e && e.stack || e));
