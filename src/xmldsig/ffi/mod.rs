//! Every call into libxmlsec1 and libxml2 lives here, behind RAII owners.
//!
//! This is the only module of the crate allowed to use `unsafe`. Everything it hands out is
//! safe to use: documents, keys and signature contexts are owned values freed on drop, and each
//! operation reports a typed [`FfiError`]. There is no code path that reports a signature as
//! valid without libxmlsec1 having computed it.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_uint};
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use xmlsec::bindings as b;

mod tree;

/// Errors from the native libraries, without any secret material in them.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FfiError {
    #[error("libxmlsec1 failed to initialise: {0}")]
    Init(&'static str),
    #[error("the XML could not be parsed by libxml2")]
    Parse,
    #[error("the XML carries a DTD, which is refused")]
    Dtd,
    #[error("the document has no root element")]
    NoRoot,
    #[error("the root element has no `{0}` attribute")]
    NoIdAttribute(String),
    #[error("the ID value is already used in the document")]
    DuplicateId,
    #[error("no ds:Signature element was found")]
    NoSignature,
    #[error("the key or certificate could not be loaded")]
    KeyLoad,
    #[error("libxmlsec1 could not create the signature")]
    Sign,
    #[error("libxmlsec1 could not process the signature")]
    Verify,
    #[error("the signature value does not match")]
    BadSignature,
    #[error("a string given to the native library contains a NUL byte")]
    Nul,
    #[error("input is larger than the native library accepts")]
    TooLarge,
    #[error("serialising the document failed")]
    Serialize,
}

unsafe extern "C" {
    // Declared in <xmlsec/errors.h>, which the bindgen header of the `xmlsec` crate leaves out.
    fn xmlSecErrorsDefaultCallbackEnableOutput(enabled: c_int);
    // Declared in <libxml/c14n.h>, which the bindgen header of the `xmlsec` crate leaves out.
    #[cfg(any(test, feature = "test-util"))]
    fn xmlC14NDocDumpMemory(
        doc: *mut b::xmlDoc,
        nodes: *mut b::xmlNodeSet,
        mode: c_int,
        inclusive_ns_prefixes: *mut *mut b::xmlChar,
        with_comments: c_int,
        doc_txt_ptr: *mut *mut b::xmlChar,
    ) -> c_int;
}

/// `XML_C14N_EXCLUSIVE_1_0` of libxml2's `xmlC14NMode`.
#[cfg(any(test, feature = "test-util"))]
const C14N_EXCLUSIVE_1_0: c_int = 1;

/// Initialises libxml2 and libxmlsec1 (OpenSSL engine) exactly once per process.
pub fn init() -> Result<(), FfiError> {
    static INIT: OnceLock<Result<(), FfiError>> = OnceLock::new();
    INIT.get_or_init(|| {
        // SAFETY: these are the documented process-wide initialisers, called in the documented
        // order. OnceLock guarantees that they run once, before any other call of this module
        // uses the libraries.
        unsafe { b::xmlInitParser() };
        // SAFETY: as above.
        if unsafe { b::xmlSecInit() } < 0 {
            return Err(FfiError::Init("xmlSecInit"));
        }
        // SAFETY: as above; a null configuration selects OpenSSL's default.
        if unsafe { b::xmlSecOpenSSLAppInit(ptr::null()) } < 0 {
            return Err(FfiError::Init("xmlSecOpenSSLAppInit"));
        }
        // SAFETY: as above.
        if unsafe { b::xmlSecOpenSSLInit() } < 0 {
            return Err(FfiError::Init("xmlSecOpenSSLInit"));
        }
        // Library diagnostics go nowhere: failures surface as typed errors, and what the
        // library would print can contain attacker-controlled input.
        // SAFETY: sets a process-wide flag of libxmlsec1, initialised above.
        unsafe { xmlSecErrorsDefaultCallbackEnableOutput(0) };
        Ok(())
    })
    .clone()
}

/// Parser options for every document: no network, no entity substitution, no DTD loading,
/// no recovery from malformed input, and no diagnostics on stderr.
const PARSE_OPTIONS: c_int = (b::xmlParserOption_XML_PARSE_NONET
    | b::xmlParserOption_XML_PARSE_NOERROR
    | b::xmlParserOption_XML_PARSE_NOWARNING) as c_int;

/// An owned libxml2 document.
pub struct Doc {
    ptr: NonNull<b::xmlDoc>,
}

impl Doc {
    /// Parses `xml` strictly. A document with any DTD (internal or external subset) is refused.
    pub fn parse(xml: &[u8]) -> Result<Doc, FfiError> {
        init()?;
        let len = c_int::try_from(xml.len()).map_err(|_| FfiError::TooLarge)?;
        // SAFETY: `xml` is valid for `len` bytes for the duration of the call; URL and encoding
        // may be null. The returned pointer is owned by the new `Doc` and freed in `Drop`.
        let raw = unsafe {
            b::xmlReadMemory(
                xml.as_ptr().cast::<c_char>(),
                len,
                ptr::null(),
                ptr::null(),
                PARSE_OPTIONS,
            )
        };
        let doc = Doc {
            ptr: NonNull::new(raw).ok_or(FfiError::Parse)?,
        };
        // SAFETY: `doc.ptr` is a valid document owned by us; nothing changes it while the
        // reference lives.
        let d = unsafe { doc.ptr.as_ref() };
        let has_dtd = !d.intSubset.is_null() || !d.extSubset.is_null();
        if has_dtd {
            return Err(FfiError::Dtd);
        }
        Ok(doc)
    }

    fn root(&self) -> Result<*mut b::xmlNode, FfiError> {
        // SAFETY: the document is valid while `self` lives; the root is owned by the document.
        let root = unsafe { b::xmlDocGetRootElement(self.ptr.as_ptr()) };
        if root.is_null() {
            Err(FfiError::NoRoot)
        } else {
            Ok(root)
        }
    }

    /// Declares the root element's attribute `attr` (e.g. SAML's `ID`) as an XML ID, so that
    /// `URI="#value"` references resolve to it, and returns its value.
    pub fn register_root_id(&mut self, attr: &str) -> Result<String, FfiError> {
        let root = self.root()?;
        let name = CString::new(attr).map_err(|_| FfiError::Nul)?;
        // SAFETY: root and name are valid; the attribute belongs to the document.
        let prop = unsafe { b::xmlHasProp(root, name.as_ptr().cast()) };
        if prop.is_null() {
            return Err(FfiError::NoIdAttribute(attr.to_owned()));
        }
        // SAFETY: `prop` is an attribute node of `root`; xmlNodeGetContent returns a fresh
        // copy (or null), which `take_xml_string` frees.
        let raw = unsafe { b::xmlNodeGetContent(prop.cast()) };
        // SAFETY: `raw` is null or the copy above, not used after this call.
        let value = unsafe { take_xml_string(raw) }
            .ok_or_else(|| FfiError::NoIdAttribute(attr.to_owned()))?
            .to_string_lossy()
            .into_owned();
        let cvalue = CString::new(value.as_str()).map_err(|_| FfiError::Nul)?;
        // SAFETY: doc, value and attribute are valid; libxml copies the value into its ID table.
        let id = unsafe {
            b::xmlAddID(
                ptr::null_mut(),
                self.ptr.as_ptr(),
                cvalue.as_ptr().cast(),
                prop,
            )
        };
        if id.is_null() {
            return Err(FfiError::DuplicateId);
        }
        Ok(value)
    }

    /// Declares every attribute `{ns}local` of every element (e.g. WS-Security's `wsu:Id`)
    /// as an XML ID. A value used twice fails with [`FfiError::DuplicateId`]: with unique
    /// IDs, a reference names one element only, so it cannot be redirected to a copy.
    pub fn register_ids(&mut self, ns: &str, local: &str) -> Result<usize, FfiError> {
        let root = self.root()?;
        let mut count = 0;
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            let (mut attr, mut child) = {
                // SAFETY: `node` is an element of this document (the root or a child reached
                // through `children`/`next`, which libxml2 keeps valid while the document
                // lives).
                let n = unsafe { &*node };
                (n.properties, n.children)
            };
            while !attr.is_null() {
                let (a_ns, a_name, next) = {
                    // SAFETY: `attr` is an attribute of `node`, valid while the document
                    // lives; its fields are copied out before libxml2 is called again.
                    let a = unsafe { &*attr };
                    (a.ns, a.name, a.next)
                };
                // SAFETY: `a_ns` is null or a namespace owned by the document; its href and
                // `a_name` are null or NUL-terminated strings it owns.
                let matches = unsafe { qname_is(a_ns, a_name, ns, local) };
                if matches {
                    // SAFETY: `attr` is valid; xmlNodeGetContent returns a fresh copy (or
                    // null), which `take_xml_string` frees.
                    let raw = unsafe { b::xmlNodeGetContent(attr.cast()) };
                    // SAFETY: `raw` is null or the copy above, not used after this call.
                    let value = unsafe { take_xml_string(raw) }
                        .ok_or_else(|| FfiError::NoIdAttribute(local.to_owned()))?;
                    // SAFETY: doc, value and attribute are valid; libxml copies the value.
                    let id = unsafe {
                        b::xmlAddID(
                            ptr::null_mut(),
                            self.ptr.as_ptr(),
                            value.as_ptr().cast(),
                            attr,
                        )
                    };
                    if id.is_null() {
                        return Err(FfiError::DuplicateId);
                    }
                    count += 1;
                }
                attr = next;
            }
            while !child.is_null() {
                // SAFETY: `child` is a node of this document; only elements are descended into.
                let c = unsafe { &*child };
                if c.type_ == b::xmlElementType_XML_ELEMENT_NODE {
                    stack.push(child);
                }
                child = c.next;
            }
        }
        Ok(count)
    }

    /// The namespace URI and local name of the document element.
    pub fn root_name(&self) -> Result<(Option<String>, String), FfiError> {
        let root = self.root()?;
        let (ns, name) = {
            // SAFETY: `root` is the document element, valid while `self` lives; its fields
            // are copied out here.
            let r = unsafe { &*root };
            (r.ns, r.name)
        };
        let href = if ns.is_null() {
            None
        } else {
            // SAFETY: `ns` is a non-null namespace owned by the document.
            let href = unsafe { (*ns).href };
            // SAFETY: `href` is null or a NUL-terminated string the document owns, copied here.
            unsafe { xml_str(href) }.map(|h| h.to_string_lossy().into_owned())
        };
        // SAFETY: the element's name is null or a NUL-terminated string the document owns,
        // copied here.
        let local = unsafe { xml_str(name) }
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok((href, local))
    }

    /// The enveloped-signature shape of the document, counted on this tree (the one that is
    /// verified): the `{ns}Signature` elements anywhere, and in the first one that is a child
    /// of the document element, its `{ns}Reference` and `{ns}Object` elements.
    pub fn enveloped_shape(&self, ns: &str) -> Result<Shape, FfiError> {
        let root = self.root()?;
        // SAFETY: `root` is an element of this document, which `self` keeps alive.
        let signatures = unsafe { count_elements(root, ns, "Signature") };
        let mut shape = Shape {
            signatures,
            ..Shape::default()
        };
        // SAFETY: as above; the children list of the root is valid.
        let mut child = unsafe { (*root).children };
        while !child.is_null() {
            let (ty, c_ns, name, next) = {
                // SAFETY: `child` is a node of this document; its fields are copied out.
                let c = unsafe { &*child };
                (c.type_, c.ns, c.name, c.next)
            };
            // SAFETY: `c_ns` is null or a namespace owned by the document; its href and
            // `name` are null or NUL-terminated strings it owns.
            if ty == b::xmlElementType_XML_ELEMENT_NODE && unsafe { qname_is(c_ns, name, ns, "Signature") } {
                shape.child_of_root = true;
                // SAFETY: `child` is an element of this document.
                shape.references = unsafe { count_elements(child, ns, "Reference") };
                // SAFETY: as above.
                shape.objects = unsafe { count_elements(child, ns, "Object") };
                break;
            }
            child = next;
        }
        Ok(shape)
    }

    /// The element reached from the root through child elements named `path` (namespace,
    /// local name); each step must match exactly one child, so a second element of the same
    /// name cannot be slipped in front.
    fn find_path(&self, path: &[(&str, &str)]) -> Result<*mut b::xmlNode, FfiError> {
        let mut node = self.root()?;
        for (ns, local) in path {
            let mut found: *mut b::xmlNode = ptr::null_mut();
            // SAFETY: `node` is an element of this document; its children list is valid.
            let mut child = unsafe { (*node).children };
            while !child.is_null() {
                // SAFETY: `child` is a node of this document, only read while the reference
                // lives.
                let c = unsafe { &*child };
                let hit = c.type_ == b::xmlElementType_XML_ELEMENT_NODE
                    // SAFETY: `c.ns` is null or a namespace owned by the document; its href
                    // and the element's name are null or NUL-terminated strings it owns.
                    && unsafe { qname_is(c.ns, c.name, ns, local) };
                if hit {
                    if !found.is_null() {
                        return Err(FfiError::NoSignature);
                    }
                    found = child;
                }
                child = c.next;
            }
            if found.is_null() {
                return Err(FfiError::NoSignature);
            }
            node = found;
        }
        Ok(node)
    }

    fn signature_node(&self) -> Result<*mut b::xmlNode, FfiError> {
        let root = self.root()?;
        // SAFETY: root is valid; the two static strings are NUL-terminated constants of libxmlsec1.
        let node = unsafe {
            b::xmlSecFindNode(
                root,
                b::xmlSecNodeSignature.as_ptr(),
                b::xmlSecDSigNs.as_ptr(),
            )
        };
        if node.is_null() {
            Err(FfiError::NoSignature)
        } else {
            Ok(node)
        }
    }

    /// The direct text of the first `{ns}SignatureValue` child of the document's signature
    /// (the one [`verify`] checks), without whitespace.
    pub fn signature_value(&self, ns: &str) -> Result<String, FfiError> {
        let sig = self.signature_node()?;
        // SAFETY: `sig` is an element of this document; its children list is valid.
        let mut child = unsafe { (*sig).children };
        while !child.is_null() {
            let (ty, c_ns, name, next) = {
                // SAFETY: `child` is a node of this document; its fields are copied out.
                let c = unsafe { &*child };
                (c.type_, c.ns, c.name, c.next)
            };
            // SAFETY: `c_ns` is null or a namespace owned by the document; its href and
            // `name` are null or NUL-terminated strings it owns.
            if ty == b::xmlElementType_XML_ELEMENT_NODE && unsafe { qname_is(c_ns, name, ns, "SignatureValue") } {
                // SAFETY: `child` is an element of this document, which `self` keeps alive.
                let text = unsafe { tree::direct_text(child) }.map_err(|_| FfiError::Serialize)?;
                return Ok(text.split_whitespace().collect());
            }
            child = next;
        }
        Err(FfiError::NoSignature)
    }

    /// Removes the `ds:Signature` element (after verification: what remains is exactly what
    /// the enveloped signature covers).
    pub fn remove_signature(&mut self) -> Result<(), FfiError> {
        let node = self.signature_node()?;
        // SAFETY: `node` belongs to this document.
        unsafe { b::xmlUnlinkNode(node) };
        // SAFETY: once unlinked nothing else refers to `node`, so freeing it is sound.
        unsafe { b::xmlFreeNode(node) };
        Ok(())
    }

    /// libxml2's exclusive C14N 1.0 (without comments) of the whole document, with the
    /// given inclusive namespace prefixes: what a verifier digests (tests check the signer
    /// against it).
    #[cfg(any(test, feature = "test-util"))]
    pub fn exclusive_c14n(&self, prefixes: &[&str]) -> Result<Vec<u8>, FfiError> {
        let owned = prefixes
            .iter()
            .map(|p| CString::new(*p).map_err(|_| FfiError::Nul))
            .collect::<Result<Vec<_>, _>>()?;
        // A NULL-terminated array of the prefixes; libxml2 only reads it.
        let mut list: Vec<*mut b::xmlChar> = owned
            .iter()
            .map(|c| c.as_ptr().cast_mut().cast::<b::xmlChar>())
            .collect();
        list.push(ptr::null_mut());
        let mut text: *mut b::xmlChar = ptr::null_mut();
        // SAFETY: the document is valid while `self` lives; a null node set selects the whole
        // document; `list` and the strings it points to outlive the call, and libxml2 does
        // not write through them; `text` receives a buffer that we own afterwards.
        let len = unsafe {
            xmlC14NDocDumpMemory(
                self.ptr.as_ptr(),
                ptr::null_mut(),
                C14N_EXCLUSIVE_1_0,
                list.as_mut_ptr(),
                0,
                &mut text,
            )
        };
        if len < 0 || text.is_null() {
            return Err(FfiError::Serialize);
        }
        let len = usize::try_from(len).map_err(|_| FfiError::Serialize)?;
        // SAFETY: libxml2 wrote `len` bytes at `text`; they are copied before it is freed.
        let out = unsafe { std::slice::from_raw_parts(text, len) }.to_vec();
        // SAFETY: xmlFree is set by xmlInitParser (init() has run) and not changed afterwards.
        if let Some(free) = unsafe { b::xmlFree } {
            // SAFETY: `text` was allocated by libxml2 and is not used after this call.
            unsafe { free(text.cast()) };
        }
        Ok(out)
    }

    /// Serialises the root element (no XML declaration), as libxml2 writes it.
    pub fn root_to_bytes(&self) -> Result<Vec<u8>, FfiError> {
        let root = self.root()?;
        // SAFETY: xmlBufferCreate returns an owned buffer (or null), freed below on every path.
        let buf = unsafe { b::xmlBufferCreate() };
        if buf.is_null() {
            return Err(FfiError::Serialize);
        }
        // SAFETY: the buffer, the document and its root are valid.
        let written = unsafe { b::xmlNodeDump(buf, self.ptr.as_ptr(), root, 0, 0) };
        let out = if written < 0 {
            Err(FfiError::Serialize)
        } else {
            // SAFETY: the buffer is valid; its content stays owned by it until it is freed.
            let content = unsafe { b::xmlBufferContent(buf) };
            // SAFETY: as above.
            let len = usize::try_from(unsafe { b::xmlBufferLength(buf) }).unwrap_or(0);
            if content.is_null() {
                Err(FfiError::Serialize)
            } else {
                // SAFETY: `content` holds `len` bytes owned by the buffer, copied before it is
                // freed.
                Ok(unsafe { std::slice::from_raw_parts(content, len) }.to_vec())
            }
        };
        // SAFETY: the buffer is ours and nothing borrowed from it is left.
        unsafe { b::xmlBufferFree(buf) };
        out
    }
}

impl Drop for Doc {
    fn drop(&mut self) {
        // SAFETY: we own the document and nothing borrowed from it outlives `self`.
        unsafe { b::xmlFreeDoc(self.ptr.as_ptr()) }
    }
}

/// What [`Doc::enveloped_shape`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Signature elements anywhere in the document.
    pub signatures: usize,
    /// Whether one of them is a child of the document element.
    pub child_of_root: bool,
    /// Reference elements at any depth of that one.
    pub references: usize,
    /// Object elements at any depth of that one.
    pub objects: usize,
}

/// The elements `{ns}local` in the subtree of `top` (itself included), walked through the
/// tree's own links: no allocation.
///
/// # Safety
/// `top` must be an element of a document that stays alive and unchanged during the call.
unsafe fn count_elements(top: *mut b::xmlNode, ns: &str, local: &str) -> usize {
    let mut n = 0;
    let mut node = top;
    'walk: loop {
        let (ty, n_ns, name, children) = {
            // SAFETY: `node` is `top` or a node reached from it through `children`, `next`
            // and `parent` links inside its subtree, all valid while the document lives.
            let r = unsafe { &*node };
            (r.type_, r.ns, r.name, r.children)
        };
        let element = ty == b::xmlElementType_XML_ELEMENT_NODE;
        // SAFETY: `n_ns` is null or a namespace owned by the document; its href and `name`
        // are null or NUL-terminated strings it owns.
        if element && unsafe { qname_is(n_ns, name, ns, local) } {
            n += 1;
        }
        if element && !children.is_null() {
            node = children;
            continue;
        }
        loop {
            if node == top {
                break 'walk;
            }
            let (next, parent) = {
                // SAFETY: as above.
                let r = unsafe { &*node };
                (r.next, r.parent)
            };
            if !next.is_null() {
                node = next;
                continue 'walk;
            }
            if parent.is_null() {
                break 'walk;
            }
            node = parent;
        }
    }
    n
}

/// The NUL-terminated libxml2 string `raw`; None for null.
///
/// # Safety
/// `raw` must be null or point to a NUL-terminated string that outlives `'a`.
unsafe fn xml_str<'a>(raw: *const b::xmlChar) -> Option<&'a CStr> {
    // SAFETY: guaranteed by the caller.
    (!raw.is_null()).then(|| unsafe { CStr::from_ptr(raw.cast()) })
}

/// Whether a node with namespace `node_ns` and name `name` is `{ns}local` (a null namespace
/// or name matches nothing).
///
/// # Safety
/// `node_ns` must be null or a valid namespace whose href is null or NUL-terminated; `name`
/// must be null or NUL-terminated; all valid for the call.
unsafe fn qname_is(
    node_ns: *const b::xmlNs,
    name: *const b::xmlChar,
    ns: &str,
    local: &str,
) -> bool {
    let is = |s: Option<&CStr>, want: &str| s.is_some_and(|s| s.to_bytes() == want.as_bytes());
    if node_ns.is_null() {
        return false;
    }
    // SAFETY: `node_ns` is not null and valid (guaranteed by the caller).
    let href = unsafe { (*node_ns).href };
    // SAFETY: href and name are null or NUL-terminated (guaranteed by the caller).
    is(unsafe { xml_str(href) }, ns) && is(unsafe { xml_str(name) }, local)
}

/// Copies a string that libxml2 allocated for us, and frees it; None for null.
///
/// # Safety
/// `raw` must be null or a NUL-terminated string allocated by libxml2 that nothing uses after
/// this call.
unsafe fn take_xml_string(raw: *mut b::xmlChar) -> Option<CString> {
    // SAFETY: guaranteed by the caller.
    let owned = unsafe { xml_str(raw) }?.to_owned();
    // SAFETY: xmlFree is set by xmlInitParser (init() has run) and not changed afterwards.
    if let Some(free) = unsafe { b::xmlFree } {
        // SAFETY: `raw` was allocated by libxml2 and is not used after this call.
        unsafe { free(raw.cast()) };
    }
    Some(owned)
}

/// An owned libxmlsec1 key (private key with its certificate, or a public key from a
/// certificate). Not `Send`: OpenSSL key objects are kept per thread by the callers, because
/// duplicating a key with its certificate is expensive.
pub struct Key {
    ptr: NonNull<b::xmlSecKey>,
}

impl Key {
    /// Loads a PEM private key (PKCS#8 or traditional) and attaches its PEM certificate, so
    /// that signing writes the certificate into `ds:KeyInfo/ds:X509Data`.
    pub fn private_with_cert(key_pem: &[u8], cert_pem: &[u8]) -> Result<Key, FfiError> {
        init()?;
        let key = Self::load(key_pem, b::xmlSecKeyDataFormat_xmlSecKeyDataFormatPem)?;
        let len = c_uint::try_from(cert_pem.len()).map_err(|_| FfiError::TooLarge)?;
        // SAFETY: key is valid and owned; cert_pem is valid for `len` bytes during the call.
        let rc = unsafe {
            b::xmlSecOpenSSLAppKeyCertLoadMemory(
                key.ptr.as_ptr(),
                cert_pem.as_ptr(),
                len,
                b::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertPem,
            )
        };
        if rc < 0 {
            return Err(FfiError::KeyLoad);
        }
        Ok(key)
    }

    /// Loads the public key of a PEM certificate, for verification against a trusted signer.
    pub fn public_from_cert(cert_pem: &[u8]) -> Result<Key, FfiError> {
        init()?;
        Self::load(cert_pem, b::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertPem)
    }

    fn load(pem: &[u8], format: b::xmlSecKeyDataFormat) -> Result<Key, FfiError> {
        let len = c_uint::try_from(pem.len()).map_err(|_| FfiError::TooLarge)?;
        // SAFETY: `pem` is valid for `len` bytes; no password or callback is passed.
        let raw = unsafe {
            b::xmlSecOpenSSLAppKeyLoadMemory(
                pem.as_ptr(),
                len,
                format,
                ptr::null(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        Ok(Key {
            ptr: NonNull::new(raw).ok_or(FfiError::KeyLoad)?,
        })
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: we own the key; signature contexts only borrow it (see `DsigCtx`).
        unsafe { b::xmlSecKeyDestroy(self.ptr.as_ptr()) }
    }
}

/// A signature context that borrows a key for one operation. The key pointer is detached
/// before the context is destroyed, so the context never frees a key it does not own.
struct DsigCtx<'k> {
    ptr: NonNull<b::xmlSecDSigCtx>,
    _key: std::marker::PhantomData<&'k Key>,
}

impl<'k> DsigCtx<'k> {
    fn new(key: &'k Key) -> Result<Self, FfiError> {
        init()?;
        // SAFETY: a null keys manager is allowed: the key is set explicitly below.
        let raw = unsafe { b::xmlSecDSigCtxCreate(ptr::null_mut()) };
        let ptr = NonNull::new(raw).ok_or(FfiError::Init("xmlSecDSigCtxCreate"))?;
        // SAFETY: `ptr` is a freshly created context we own, not shared with anything yet.
        let c = unsafe { &mut *ptr.as_ptr() };
        c.signKey = key.ptr.as_ptr();
        // References may only point into the same document: no files, no network.
        c.enabledReferenceUris = b::xmlSecTransformUriTypeSameDocument as c_uint;
        Ok(DsigCtx {
            ptr,
            _key: std::marker::PhantomData,
        })
    }
}

impl Drop for DsigCtx<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the context; detach the borrowed key first so that
        // xmlSecDSigCtxDestroy does not free it.
        unsafe { (*self.ptr.as_ptr()).signKey = ptr::null_mut() };
        // SAFETY: we own the context and nothing borrowed from it outlives `self`.
        unsafe { b::xmlSecDSigCtxDestroy(self.ptr.as_ptr()) };
    }
}

/// Completes the `ds:Signature` template inside `doc` with `key` (digests, signature value,
/// certificate).
pub fn sign(doc: &mut Doc, key: &Key) -> Result<(), FfiError> {
    let node = doc.signature_node()?;
    let ctx = DsigCtx::new(key)?;
    // SAFETY: ctx, key and node are valid; node belongs to `doc`, which we borrow mutably.
    let rc = unsafe { b::xmlSecDSigCtxSign(ctx.ptr.as_ptr(), node) };
    if rc < 0 {
        return Err(FfiError::Sign);
    }
    Ok(())
}

/// Verifies the first `ds:Signature` in `doc` with `key` only (the document's KeyInfo is not
/// trusted). Only exclusive C14N, the enveloped transform, SHA-2 digests and RSA/ECDSA with
/// SHA-2 are enabled: XPath, XSLT, SHA-1 and MD5 fail. Returns the URIs of the references that
/// the signature covers, as libxmlsec1 processed them. `Ok` only when libxmlsec1 reports the
/// status Succeeded.
pub fn verify(doc: &Doc, key: &Key) -> Result<Vec<String>, FfiError> {
    verify_node(doc.signature_node()?, key)
}

/// [`verify`] for the `ds:Signature` at `path` from the root (each step one child element,
/// the last one the signature), e.g. a WS-Security header's message signature.
pub fn verify_at(doc: &Doc, path: &[(&str, &str)], key: &Key) -> Result<Vec<String>, FfiError> {
    verify_node(doc.find_path(path)?, key)
}

/// A libxmlsec1 `*GetKlass` function: the static description of one transform.
type Klass = unsafe extern "C" fn() -> b::xmlSecTransformId;

fn verify_node(node: *mut b::xmlNode, key: &Key) -> Result<Vec<String>, FfiError> {
    let ctx = DsigCtx::new(key)?;
    let c = ctx.ptr.as_ptr();
    // The allow-lists: what a signature may use, and what its references may use.
    let signature: [Klass; 7] = [
        b::xmlSecTransformExclC14NGetKlass,
        b::xmlSecOpenSSLTransformRsaSha256GetKlass,
        b::xmlSecOpenSSLTransformRsaSha384GetKlass,
        b::xmlSecOpenSSLTransformRsaSha512GetKlass,
        b::xmlSecOpenSSLTransformEcdsaSha256GetKlass,
        b::xmlSecOpenSSLTransformEcdsaSha384GetKlass,
        b::xmlSecOpenSSLTransformEcdsaSha512GetKlass,
    ];
    let reference: [Klass; 5] = [
        b::xmlSecTransformEnvelopedGetKlass,
        b::xmlSecTransformExclC14NGetKlass,
        b::xmlSecOpenSSLTransformSha256GetKlass,
        b::xmlSecOpenSSLTransformSha384GetKlass,
        b::xmlSecOpenSSLTransformSha512GetKlass,
    ];
    for klass in signature {
        // SAFETY: the *GetKlass functions return pointers to static transform descriptions.
        let id = unsafe { klass() };
        // SAFETY: the context is ours; the Enable function copies `id` into a list it owns.
        if unsafe { b::xmlSecDSigCtxEnableSignatureTransform(c, id) } < 0 {
            return Err(FfiError::Init("xmlSecDSigCtxEnableSignatureTransform"));
        }
    }
    for klass in reference {
        // SAFETY: as above.
        let id = unsafe { klass() };
        // SAFETY: as above.
        if unsafe { b::xmlSecDSigCtxEnableReferenceTransform(c, id) } < 0 {
            return Err(FfiError::Init("xmlSecDSigCtxEnableReferenceTransform"));
        }
    }
    // SAFETY: ctx, key and node are valid for the duration of the call.
    let rc = unsafe { b::xmlSecDSigCtxVerify(ctx.ptr.as_ptr(), node) };
    if rc < 0 {
        return Err(FfiError::Verify);
    }
    // SAFETY: reading plain fields of the context we own.
    let status = unsafe { (*ctx.ptr.as_ptr()).status };
    if status != b::xmlSecDSigStatus_xmlSecDSigStatusSucceeded {
        return Err(FfiError::BadSignature);
    }
    let mut uris = Vec::new();
    // SAFETY: signedInfoReferences is a pointer list of xmlSecDSigReferenceCtx owned by the
    // context we own; only its address is taken.
    let list = unsafe { &raw mut (*ctx.ptr.as_ptr()).signedInfoReferences };
    // SAFETY: `list` is valid while the context lives.
    let size = unsafe { b::xmlSecPtrListGetSize(list) };
    for i in 0..size {
        // SAFETY: `list` is valid and `i` is below its size.
        let item = unsafe { b::xmlSecPtrListGetItem(list, i) }.cast::<b::xmlSecDSigReferenceCtx>();
        if item.is_null() {
            return Err(FfiError::Verify);
        }
        // SAFETY: a non-null item is a reference context owned by the context.
        let uri = unsafe { (*item).uri };
        // SAFETY: the URI is null or a NUL-terminated string owned by the reference context,
        // copied here.
        let uri = unsafe { xml_str(uri) };
        uris.push(
            uri.map(|u| u.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    Ok(uris)
}
