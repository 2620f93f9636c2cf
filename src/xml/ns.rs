//! Every namespace and protocol URI the STS reads or writes, in one place. Modules import
//! them from here; none defines its own, so a typo cannot make two modules disagree.
//! (Algorithm URIs that belong to a typed enumeration, such as `xmldsig::SignatureAlgorithm`,
//! live with that enumeration.)

// SOAP 1.1 and 1.2.

/// SOAP 1.1 envelope namespace.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 `actor` of the next node (this one).
pub const SOAP11_ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";
/// SOAP 1.2 `role` of the next node.
pub const SOAP12_ROLE_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
/// SOAP 1.2 `role` of the ultimate receiver.
pub const SOAP12_ROLE_ULTIMATE_RECEIVER: &str =
    "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";

// WS-Addressing.

/// WS-Addressing 1.0, the one replies use when the request named none.
pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
/// The August 2004 submission, still sent by older stacks.
pub const WSA_2004: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// Both WS-Addressing namespaces, 1.0 first.
pub const WSA_NSS: [&str; 2] = [WSA, WSA_2004];
/// Addresses that mean "reply on the HTTP response".
pub const WSA_ANONYMOUS: &str = "http://www.w3.org/2005/08/addressing/anonymous";
pub const WSA_NONE: &str = "http://www.w3.org/2005/08/addressing/none";
pub const WSA_2004_ANONYMOUS: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// The action of SOAP faults (WS-Addressing 1.0 SOAP Binding).
pub const WSA_SOAP_FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";
/// The action of the faults WS-Addressing 1.0 itself defines.
pub const WSA_FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/fault";
/// The action of every fault in the 2004 submission.
pub const WSA_2004_FAULT_ACTION: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";

// WS-Security 1.0/1.1 and its token profiles.

/// `wsse`: WS-Security 1.0 extensions.
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// `wsse11`: WS-Security 1.1 extensions.
pub const WSSE11: &str = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd";
/// `wsu`: WS-Security utility (`wsu:Id`, `wsu:Timestamp`).
pub const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/// `EncodingType` of base64 binary security tokens and nonces.
pub const BASE64_BINARY: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
/// `wsse:Password/@Type` of a clear-text password.
pub const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
/// `wsse:Password/@Type` of a password digest.
pub const PASSWORD_DIGEST: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
/// `wsse:BinarySecurityToken/@ValueType` of an X.509 certificate.
pub const X509V3_VALUE_TYPE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3";
/// `wsse:KeyIdentifier/@ValueType` naming a SAML 2.0 assertion by its ID.
pub const SAMLID_VALUE_TYPE: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID";
/// `wsse:BinarySecurityToken/@ValueType` of an OpenAM session token.
pub const OPENAM_SESSION_VALUE_TYPE: &str =
    "http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken";
/// ForgeRock's WS-SecurityPolicy namespace (the OpenAM session token assertion).
pub const OPENAM_POLICY: &str = "http://schemas.forgerock.org/ws/securitypolicy";
/// WS-SecurityPolicy 1.2 `sp:IncludeToken` value "always to the recipient".
pub const SP_INCLUDE_ALWAYS_TO_RECIPIENT: &str =
    "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient";
/// `wsse:BinarySecurityToken/@ValueType`s of a JWT (an OpenID Connect id_token).
pub const JWT_VALUE_TYPES: [&str; 2] = [TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN];

// WS-Trust 1.3/1.4.

/// WS-Trust 1.3 namespace, used for every core element of 1.3 and 1.4.
pub const WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
/// WS-Trust 1.4 extension namespace. Some clients also put core elements in it; both are read.
pub const WST14: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200802";
/// Both WS-Trust namespaces.
pub const WST_NSS: [&str; 2] = [WST, WST14];
pub const KEY_TYPE_BEARER: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer";
pub const KEY_TYPE_PUBLIC_KEY: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey";
pub const KEY_TYPE_SYMMETRIC_KEY: &str =
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey";
/// `wst:TokenType` of a SAML 2.0 assertion (token profile)...
pub const TOKEN_TYPE_SAML20: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";
/// ...and the assertion namespace, which clients also send as a TokenType.
pub const TOKEN_TYPE_SAML20_NS: &str = SAML2;
/// `wst:TokenType`s of an OpenID Connect id_token (RFC 8693 token type identifiers).
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// RFC 8693 token type identifier of a SAML 2.0 assertion (OAuth2 introspection).
pub const TOKEN_TYPE_OAUTH_SAML2: &str = "urn:ietf:params:oauth:token-type:saml2";
/// RFC 8693 token type identifier of a SAML 1.1 assertion.
pub const TOKEN_TYPE_OAUTH_SAML1: &str = "urn:ietf:params:oauth:token-type:saml1";
/// `wst:TokenType` asking Validate for a status.
pub const TOKEN_TYPE_STATUS: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/Status";
pub const STATUS_VALID: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid";
pub const STATUS_INVALID: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/invalid";
/// `wst:BinarySecret/@Type` of entropy.
pub const BINARY_SECRET_NONCE: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Nonce";
/// `wst:BinarySecret/@Type` of a symmetric key.
pub const BINARY_SECRET_SYMMETRIC: &str =
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey";
/// `wst:ComputedKeyAlgorithm` of P_SHA1.
pub const CK_PSHA1: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1";

// WS-Trust February 2005 (issue 18, part t2005): what AD FS's `/trust/2005/` endpoints and
// MSAL/ADAL speak. Elements and URIs mirror 1.3's under another base.

/// WS-Trust February 2005 namespace.
pub const WST2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust";
/// Every WS-Trust namespace a request element may be in.
pub const WST_ALL: [&str; 3] = [WST, WST14, WST2005];
pub const KEY_TYPE_BEARER_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/Bearer";
/// WS-Identity's "no proof key", which MSAL and ADAL send with 2005: a bearer token.
pub const KEY_TYPE_NO_PROOF_KEY: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey";
pub const KEY_TYPE_PUBLIC_KEY_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/PublicKey";
pub const KEY_TYPE_SYMMETRIC_KEY_2005: &str =
    "http://schemas.xmlsoap.org/ws/2005/02/trust/SymmetricKey";
pub const TOKEN_TYPE_STATUS_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Status";
pub const STATUS_VALID_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/status/valid";
pub const STATUS_INVALID_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/status/invalid";
pub const BINARY_SECRET_NONCE_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/Nonce";
pub const BINARY_SECRET_SYMMETRIC_2005: &str =
    "http://schemas.xmlsoap.org/ws/2005/02/trust/SymmetricKey";
pub const CK_PSHA1_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/CK/PSHA1";

// WS-Policy.

/// WS-Policy namespaces in which clients send `AppliesTo`; replies use the first.
pub const WSP_NSS: [&str; 3] = [
    "http://schemas.xmlsoap.org/ws/2004/09/policy",
    "http://www.w3.org/ns/ws-policy",
    "http://schemas.xmlsoap.org/ws/2002/12/policy",
];

// XML Signature and XML Encryption.

/// `ds`: XML-DSig.
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive canonicalisation (also the `ec:InclusiveNamespaces` namespace).
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// SHA-1 as a digest method (only inside RSA-OAEP, never for signatures).
pub const DS_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
/// `xenc`: XML Encryption 1.0.
pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// XML Encryption 1.1 (AES-GCM).
pub const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
/// `xenc:EncryptedData/@Type` of an element.
pub const XENC_TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
/// RSA-OAEP key transport.
pub const XENC_RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";

// SAML 2.0.

/// `saml2`: the assertion namespace.
pub const SAML2: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub const CM_SENDER_VOUCHES: &str = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches";
pub const CM_HOLDER_OF_KEY: &str = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key";
pub const AC_PASSWORD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password";
pub const AC_PASSWORD_PROTECTED_TRANSPORT: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
pub const AC_X509: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509";
pub const AC_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";
pub const ATTRNAME_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";
/// The NameID format OpenAM uses by default (SAML 1.1's "unspecified").
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

// SAML 1.1.

/// `saml`: the SAML 1.x assertion namespace, which MSAL and ADAL also read as the TokenType.
pub const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
pub const CM1_BEARER: &str = "urn:oasis:names:tc:SAML:1.0:cm:bearer";
pub const CM1_SENDER_VOUCHES: &str = "urn:oasis:names:tc:SAML:1.0:cm:sender-vouches";
pub const CM1_HOLDER_OF_KEY: &str = "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key";
/// SAML 1.1 core 7.1 authentication methods.
pub const AM1_PASSWORD: &str = "urn:oasis:names:tc:SAML:1.0:am:password";
pub const AM1_X509: &str = "urn:oasis:names:tc:SAML:1.0:am:X509-PKI";
pub const AM1_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.0:am:unspecified";
/// `wst:TokenType` of a SAML 1.1 assertion (token profile 1.1).
pub const TOKEN_TYPE_SAML11: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1";
/// `wsse:KeyIdentifier/@ValueType` naming a SAML 1.1 assertion by its AssertionID.
pub const SAML11_ID_VALUE_TYPE: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID";
/// The AD FS claim namespace of UPN, email, name, nameidentifier (an attribute map key
/// that is not a URI gets it as `AttributeNamespace`).
pub const CLAIMS_2005: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";

// XML Schema.

/// `xs`: XML Schema types (SAML attribute values name `xs:string`).
pub const XS: &str = "http://www.w3.org/2001/XMLSchema";
/// `xsi`: XML Schema instance (`xsi:type`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

// AD FS compatibility (`adfs` part): WS-MetadataExchange, the WSDL and WS-SecurityPolicy
// vocabularies MSAL and ADAL read in a mex document, and SAML 2.0 metadata with WS-Federation.

/// `wsdl`: WSDL 1.1.
pub const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
/// `soap12`: WSDL 1.1's SOAP 1.2 binding.
pub const WSDL_SOAP12: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
/// `soap12:binding/@transport` of SOAP over HTTP.
pub const SOAP_HTTP_TRANSPORT: &str = "http://schemas.xmlsoap.org/soap/http";
/// `sp`: WS-SecurityPolicy 1.2 (with WS-Trust 1.3 endpoints).
pub const SP12: &str = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702";
/// `sp` of WS-SecurityPolicy's 2005 draft (with WS-Trust 2005 endpoints).
pub const SP2005: &str = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy";
/// `sp:IncludeToken` "always to the recipient" of the 2005 draft.
pub const SP2005_INCLUDE_ALWAYS_TO_RECIPIENT: &str =
    "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient";
/// `wsaw`: WS-Addressing 1.0 WSDL binding (`wsaw:UsingAddressing`).
pub const WSAW: &str = "http://www.w3.org/2006/05/addressing/wsdl";
/// `wsx`: WS-MetadataExchange (2004/09, the version WCF and AD FS serve).
pub const WSX: &str = "http://schemas.xmlsoap.org/ws/2004/09/mex";
/// WS-Transfer Get: what MSAL, ADAL and WCF send to a mex endpoint over SOAP...
pub const WXF_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
/// ...and its reply's action.
pub const WXF_GET_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
/// WS-MetadataExchange GetMetadata request and response actions.
pub const MEX_GET_METADATA_REQUEST: &str =
    "http://schemas.xmlsoap.org/ws/2004/09/mex/GetMetadata/Request";
pub const MEX_GET_METADATA_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/09/mex/GetMetadata/Response";
/// WS-Trust 2005's Issue action, as a mex document names it (`soap12:operation/@soapAction`).
pub const MEX_WST2005_ISSUE_ACTION: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue";
/// `md`: SAML 2.0 metadata (FederationMetadata.xml).
pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// `fed`: WS-Federation 1.2 (`fed:SecurityTokenServiceType`).
pub const FED: &str = "http://docs.oasis-open.org/wsfed/federation/200706";

// ActAs and Claims (issue 18, items 7 and 8; part `deleg`).

/// SAML V2.0 Condition for Delegation Restriction 1.0: `del:DelegationRestrictionType`, whose
/// `del:Delegate`s name who acts for the subject (ActAs).
pub const SAML2_DELEGATION: &str = "urn:oasis:names:tc:SAML:2.0:conditions:delegation";
/// The WIF / AD FS `actor` claim: SAML 1.1 has no delegation condition, so the actor goes
/// in an attribute of this URI whose value is an `<Actor>` of SAML attributes.
pub const CLAIM_ACTOR: &str = "http://schemas.xmlsoap.org/ws/2009/09/identity/claims/actor";
/// The claim type of a name (the actor's, in [`CLAIM_ACTOR`]).
pub const CLAIM_NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
/// `wst:Claims/@Dialect` of WS-Trust 1.3 and WIF: `ic:ClaimType Uri Optional`, in the
/// identity namespace, which is also the dialect URI.
pub const CLAIMS_DIALECT_IDENTITY: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity";
/// The dialect WCF 3.5 ("Orcas") sends; WIF reads it as the identity dialect.
pub const CLAIMS_DIALECT_IDENTITY_ORCAS: &str =
    "http://schemas.xmlsoap.org/ws/2005/05/IdentityClaims";
/// WS-Federation 1.2 authorization claims dialect: `auth:ClaimType Uri Optional` with an
/// optional `auth:Value`, in [`WSFED_AUTH`].
pub const CLAIMS_DIALECT_AUTH: &str =
    "http://docs.oasis-open.org/wsfed/authorization/200706/authclaims";
/// The WS-Federation authorization namespace (`auth:`).
pub const WSFED_AUTH: &str = "http://docs.oasis-open.org/wsfed/authorization/200706";
