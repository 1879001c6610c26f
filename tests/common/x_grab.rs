//! Another X client that holds a key combination, as a desktop's own shortcut would: a short
//! /usr/bin/python3 program that calls libX11's `XGrabKey` on the root window through ctypes (no
//! extra packages) and keeps the grab until it is dropped. A second grab of the same keys by
//! anyone else then fails with BadAccess, which is what the app must report as a conflict.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

const GRABBER: &str = r#"
import ctypes, sys
x = ctypes.CDLL("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XStringToKeysym.restype = ctypes.c_ulong
x.XStringToKeysym.argtypes = [ctypes.c_char_p]
x.XKeysymToKeycode.restype = ctypes.c_ubyte
x.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XGrabKey.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_int]
x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
errors = []
HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
handler = HANDLER(lambda d, e: errors.append(1) or 0)
x.XSetErrorHandler(handler)
d = x.XOpenDisplay(None)
if not d:
    sys.exit("no display")
root = x.XDefaultRootWindow(d)
code = x.XKeysymToKeycode(d, x.XStringToKeysym(sys.argv[1].encode()))
mods = int(sys.argv[2])
# Also with CapsLock (2) and NumLock (16), as shortcut daemons do.
for extra in (0, 2, 16, 18):
    x.XGrabKey(d, code, mods | extra, root, 1, 1, 1)
x.XSync(d, 0)
print("refused" if errors else "grabbed", flush=True)
sys.stdin.read()
"#;

/// X modifier masks.
pub const CONTROL: u32 = 4;
pub const ALT: u32 = 8; // Mod1

/// A key grab held by another X client for as long as this lives.
pub struct KeyGrab {
    child: Child,
}

impl KeyGrab {
    /// Grabs `keysym` (e.g. "l") with `modifiers` on the test display; panics if X refused.
    pub fn take(keysym: &str, modifiers: u32) -> KeyGrab {
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", GRABBER, keysym, &modifiers.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the X grab client");
        // The client answers once X has processed the grab (XSync), so no waiting is needed.
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("grabber stdout")).read_line(&mut line).expect("grabber answer");
        assert_eq!(line.trim(), "grabbed", "the other X client could not grab {keysym}");
        KeyGrab { child }
    }
}

impl Drop for KeyGrab {
    fn drop(&mut self) {
        // Closing its stdin ends the client; its grab ends with its X connection.
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
