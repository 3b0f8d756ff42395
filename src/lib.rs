//! dealbridge
