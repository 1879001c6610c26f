//! Sign-in for KallyAI Desktop, without Tauri: which flow the server offers (`discover`), the
//! strict callback parser (`callback`), the pending sign-in that takes one callback
//! (`PendingSignIn`), OAuth code + PKCE (`oauth`), the loopback listener (`loopback`), the
//! `SignIn` orchestration the shell drives, `resume` (a deep-link sign-in finished after the app
//! restarted, from its keychain entry), and sign-out with revocation.
//!
//! ```no_run
//! # async fn demo(config: kallyai_core::Config) -> Result<(), Box<dyn std::error::Error>> {
//! use kallyai_core::signin::{discover, Redirect, SignIn};
//! let flow = discover(&config).await?;
//! let (started, handle) = SignIn::start(&config, &flow, Redirect::DeepLink).await?;
//! // shell: open started.browser_url in the system browser; route kallyai:// links to
//! // handle.deliver(url); show a Cancel button wired to handle.cancel().
//! let tokens = handle.wait().await?;
//! # let _ = (started, tokens); Ok(()) }
//! ```

pub mod callback;
mod discovery;
mod error;
mod flow;
mod loopback;
pub mod oauth;
mod pending;
mod resume;
mod signout;

pub use callback::{Expect, DEEP_LINK_REDIRECT, MAX_CALLBACK_LEN};
pub use discovery::{choose_flow, discover, Flow, ServerMetadata, CLIENT_ID};
pub use error::{Refusal, SignInError};
pub use flow::{Redirect, SignIn, SignInHandle, SignInSlot, Started};
pub use loopback::CLI_PORTS;
pub use pending::{Accepted, PendingSignIn};
pub use resume::{pending_account, resume};
pub use signout::{revoke, sign_out, sign_out_with, Revocation};
