//! Canonical Cyrus dlist output (csync §2.5): byte-exact with Cyrus captures, with the literal
//! form chosen by our role, and file bodies streamed from the caller's [`FileSource`].
//!
//! Owns: writing `DValue`s, keyed values and command/data lines to any `io::Write`.
//! Must not: read message files itself or buffer file bodies (it only calls back).

use std::io::{self, Write};

use wire::{LiteralForm, write_string};

use crate::value::{DValue, FileLit, FileRef, Keyed};

/// Which side of the connection we are (csync §2.2.3): decides `{n+}` vs `{n}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We send commands: literals are `{n+}`.
    Client,
    /// We send responses: literals are `{n}`.
    Server,
}

impl Role {
    pub fn literal_form(self) -> LiteralForm {
        match self {
            Role::Client => LiteralForm::NonSync,
            Role::Server => LiteralForm::Sync,
        }
    }
}

/// Supplies file-literal bodies while writing. Must write exactly `file.size` bytes.
pub trait FileSource {
    fn copy_body(&mut self, file: &FileLit, out: &mut dyn Write) -> io::Result<()>;
}

impl<F: FnMut(&FileRef, &mut dyn Write) -> io::Result<()>> FileSource for F {
    fn copy_body(&mut self, file: &FileLit, out: &mut dyn Write) -> io::Result<()> {
        self(&file.body, out)
    }
}

/// A [`FileSource`] for values that contain no files: any file is an error.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFiles;

impl FileSource for NoFiles {
    fn copy_body(&mut self, _file: &FileLit, _out: &mut dyn Write) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "value contains a file literal",
        ))
    }
}

struct Counting<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Streaming dlist writer.
#[derive(Debug, Clone, Copy)]
pub struct Serializer {
    pub role: Role,
}

impl Serializer {
    pub fn new(role: Role) -> Self {
        Serializer { role }
    }

    /// Write one value.
    pub fn value(
        &self,
        w: &mut dyn Write,
        v: &DValue,
        files: &mut dyn FileSource,
    ) -> io::Result<()> {
        let form = self.role.literal_form();
        match v {
            DValue::Nil => w.write_all(b"NIL"),
            DValue::Str(s) => write_string(w, s, form),
            DValue::Flag(s) => w.write_all(s),
            DValue::List(items) => {
                w.write_all(b"(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        w.write_all(b" ")?;
                    }
                    self.value(w, item, files)?;
                }
                w.write_all(b")")
            }
            DValue::KvList(items) => {
                w.write_all(b"%(")?;
                for (i, (k, item)) in items.iter().enumerate() {
                    if i > 0 {
                        w.write_all(b" ")?;
                    }
                    write_string(w, k, form)?;
                    w.write_all(b" ")?;
                    self.value(w, item, files)?;
                }
                w.write_all(b")")
            }
            DValue::File(f) => {
                w.write_all(b"%{")?;
                write_header_string(w, &f.partition)?;
                write!(w, " {} {}}}\r\n", f.guid.to_hex(), f.size)?;
                let mut c = Counting { inner: w, n: 0 };
                files.copy_body(f, &mut c)?;
                if c.n != f.size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("file body was {} bytes, announced {}", c.n, f.size),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Write `key SP value` (no line end).
    pub fn keyed(
        &self,
        w: &mut dyn Write,
        kv: &Keyed,
        files: &mut dyn FileSource,
    ) -> io::Result<()> {
        write_string(w, &kv.key, self.role.literal_form())?;
        w.write_all(b" ")?;
        self.value(w, &kv.value, files)
    }

    /// Write a full line `prefix key SP value CRLF`, e.g. prefix `b"APPLY "` or `b"* "`.
    pub fn line(
        &self,
        w: &mut dyn Write,
        prefix: &[u8],
        kv: &Keyed,
        files: &mut dyn FileSource,
    ) -> io::Result<()> {
        w.write_all(prefix)?;
        self.keyed(w, kv, files)?;
        w.write_all(b"\r\n")
    }
}

/// Partition names inside `%{…}` cannot be literals; Cyrus only writes atoms there.
fn write_header_string(w: &mut dyn Write, s: &[u8]) -> io::Result<()> {
    if wire::is_atom_safe(s) && !s.contains(&b'}') {
        w.write_all(s)
    } else {
        // Quoted with escapes; only reachable for values Cyrus would never produce.
        w.write_all(b"\"")?;
        for &b in s {
            if b == b'"' || b == b'\\' {
                w.write_all(b"\\")?;
            }
            w.write_all(&[b])?;
        }
        w.write_all(b"\"")
    }
}

/// Convenience: serialise a value with no files into a Vec.
pub fn to_vec(v: &DValue, role: Role) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and NoFiles only fails on File values, which we turn into
    // a visible marker rather than a panic.
    if Serializer::new(role)
        .value(&mut out, v, &mut NoFiles)
        .is_err()
    {
        out.extend_from_slice(b"<file>");
    }
    out
}
