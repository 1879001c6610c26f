//! kallyai-core: the KallyAI client (skeleton).
