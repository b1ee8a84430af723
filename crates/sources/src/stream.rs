//! A file's bytes as a stream of bounded chunks: a production hashes and packages each chunk as
//! it arrives, a hold copies it into the object store, and neither ever holds a whole file.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use crate::{SourceError, SourceResult};

/// The largest chunk a [`FileStream`] yields.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Chunks of bytes as a source produces them.
pub type ByteStream = Pin<Box<dyn Stream<Item = SourceResult<Bytes>> + Send>>;

/// One file being read. It yields chunks of at most [`CHUNK_SIZE`] bytes, exactly `size` bytes
/// in all: a source that delivers fewer (a dropped connection) or more ends the stream with
/// [`SourceError::Protocol`] instead, so that a truncated file never passes for a whole one.
pub struct FileStream {
    size: u64,
    media_type: String,
    inner: ByteStream,
    delivered: u64,
    /// The rest of a chunk larger than `CHUNK_SIZE`, handed out in pieces.
    pending: Bytes,
    finished: bool,
}

impl FileStream {
    pub fn new(
        size: u64,
        media_type: impl Into<String>,
        inner: impl Stream<Item = SourceResult<Bytes>> + Send + 'static,
    ) -> FileStream {
        FileStream {
            size,
            media_type: media_type.into(),
            inner: Box::pin(inner),
            delivered: 0,
            pending: Bytes::new(),
            finished: false,
        }
    }

    /// The number of bytes the stream yields.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    fn fail(&mut self, e: SourceError) -> Poll<Option<SourceResult<Bytes>>> {
        self.finished = true;
        self.pending = Bytes::new();
        Poll::Ready(Some(Err(e)))
    }
}

impl Stream for FileStream {
    type Item = SourceResult<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if !this.pending.is_empty() {
                let n = this.pending.len().min(CHUNK_SIZE);
                return Poll::Ready(Some(Ok(this.pending.split_to(n))));
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    this.delivered += chunk.len() as u64;
                    if this.delivered > this.size {
                        let size = this.size;
                        return this.fail(SourceError::Protocol(format!(
                            "the file ran past the {size} bytes announced"
                        )));
                    }
                    this.pending = chunk;
                }
                Poll::Ready(Some(Err(e))) => return this.fail(e),
                Poll::Ready(None) => {
                    this.finished = true;
                    if this.delivered != this.size {
                        return Poll::Ready(Some(Err(SourceError::Protocol(format!(
                            "the file ended after {} of the {} bytes announced",
                            this.delivered, this.size
                        )))));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{stream, StreamExt};

    fn chunks(sizes: &[usize]) -> impl Stream<Item = SourceResult<Bytes>> + Send {
        let v: Vec<SourceResult<Bytes>> = sizes
            .iter()
            .map(|&n| Ok(Bytes::from(vec![7u8; n])))
            .collect();
        stream::iter(v)
    }

    #[tokio::test]
    async fn large_chunks_are_split_and_the_total_is_kept() {
        let s = FileStream::new(200_000, "video/mp4", chunks(&[150_000, 0, 50_000]));
        let got: Vec<usize> = s.map(|c| c.unwrap().len()).collect().await;
        assert_eq!(
            got,
            vec![CHUNK_SIZE, CHUNK_SIZE, 150_000 - 2 * CHUNK_SIZE, 50_000]
        );
    }

    #[tokio::test]
    async fn a_short_or_long_file_is_an_error_not_an_end() {
        let short: Vec<_> = FileStream::new(10, "x/y", chunks(&[4])).collect().await;
        assert!(short[0].is_ok());
        assert!(matches!(short[1], Err(SourceError::Protocol(_))));
        assert_eq!(short.len(), 2);
        let long: Vec<_> = FileStream::new(3, "x/y", chunks(&[2, 2, 2]))
            .collect()
            .await;
        assert!(long[0].is_ok());
        assert!(matches!(long[1], Err(SourceError::Protocol(_))));
        assert_eq!(long.len(), 2);
    }
}
