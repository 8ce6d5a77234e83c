//! The few Solidity ABI encodings the gateway needs (static words and `bytes`), and reading
//! an ERC-6492 wrapper, strictly: a malformed one is an error, never a panic or a guess.

use super::signature::ERC6492_MAGIC;
use super::Address;

/// One argument of an ABI-encoded tuple.
#[derive(Clone, Copy, Debug)]
pub enum Token<'a> {
    /// A static 32-byte word (an address, a `bytes32`, a `uint256`).
    Word([u8; 32]),
    /// Dynamic `bytes`.
    Bytes(&'a [u8]),
}

/// `abi.encode(tokens…)`: the heads (words, or offsets of the dynamic parts), then each
/// dynamic part as its length and its bytes padded to a whole word.
pub fn encode(tokens: &[Token<'_>]) -> Vec<u8> {
    let mut head = Vec::with_capacity(32 * tokens.len());
    let mut tail = Vec::new();
    for token in tokens {
        match token {
            Token::Word(word) => head.extend_from_slice(word),
            Token::Bytes(bytes) => {
                head.extend_from_slice(&word_of(32 * tokens.len() + tail.len()));
                tail.extend_from_slice(&word_of(bytes.len()));
                tail.extend_from_slice(bytes);
                tail.resize(tail.len().div_ceil(32) * 32, 0);
            }
        }
    }
    head.extend(tail);
    head
}

/// What an ERC-6492 signature holds: the factory that deploys the wallet, the call that does,
/// and the wallet's own signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erc6492<'a> {
    /// The factory.
    pub factory: Address,
    /// Its calldata.
    pub factory_call: &'a [u8],
    /// The signature the deployed wallet checks.
    pub signature: &'a [u8],
}

/// Reads `abi.encode(address factory, bytes factoryCall, bytes signature) ‖ magic`; `None`
/// when `signature` does not end in the magic suffix or is not such an encoding.
pub fn erc6492(signature: &[u8]) -> Option<Erc6492<'_>> {
    let body = signature.strip_suffix(&ERC6492_MAGIC)?;
    let word = |at: usize| body.get(at..at.checked_add(32)?);
    let factory_word = word(0)?;
    if factory_word[..12].iter().any(|b| *b != 0) {
        return None;
    }
    let factory = Address(factory_word[12..].try_into().ok()?);
    let bytes_at = |head: usize| -> Option<&[u8]> {
        let offset = usize_of(word(head)?)?;
        let len = usize_of(word(offset)?)?;
        body.get(offset.checked_add(32)?..offset.checked_add(32)?.checked_add(len)?)
    };
    Some(Erc6492 {
        factory,
        factory_call: bytes_at(32)?,
        signature: bytes_at(64)?,
    })
}

/// A length or offset as a big-endian word.
fn word_of(n: usize) -> [u8; 32] {
    crate::amount::Uint256::from(n as u64).to_be_bytes()
}

/// A word that holds a small number (what an offset or length into a signature can be);
/// `None` for a larger one or a slice that is not a word.
pub fn usize_of(word: &[u8]) -> Option<usize> {
    if word.len() != 32 {
        return None;
    }
    let (high, low) = word.split_at(24);
    if high.iter().any(|b| *b != 0) {
        return None;
    }
    usize::try_from(u64::from_be_bytes(low.try_into().ok()?)).ok()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_wrapper_encoded_here_reads_back_and_anything_else_does_not() {
        let factory = Address([0x11; 20]);
        let call = [0xab; 70];
        let inner = [0xcd; 65];
        let mut wrapped = encode(&[
            Token::Word(factory.to_word()),
            Token::Bytes(&call),
            Token::Bytes(&inner),
        ]);
        // Head (3 words), then 32 + 96 and 32 + 96 bytes of the two padded parts.
        assert_eq!(wrapped.len(), 96 + 128 + 128);
        assert_eq!(&wrapped[32..64], &word_of(96));
        assert_eq!(&wrapped[64..96], &word_of(96 + 128));
        wrapped.extend_from_slice(&ERC6492_MAGIC);
        let read = erc6492(&wrapped).unwrap();
        assert_eq!(read.factory, factory);
        assert_eq!(read.factory_call, &call[..]);
        assert_eq!(read.signature, &inner[..]);

        assert_eq!(erc6492(&wrapped[1..]), None, "misaligned");
        assert_eq!(erc6492(&wrapped[..wrapped.len() - 1]), None, "no magic");
        let mut past_end = wrapped.clone();
        past_end[64 + 31] = 0xff;
        assert_eq!(erc6492(&past_end), None, "offset past the end");
        let mut huge = wrapped.clone();
        huge[32] = 1;
        assert_eq!(erc6492(&huge), None, "offset beyond 64 bits");
        assert_eq!(erc6492(&ERC6492_MAGIC), None, "empty body");
    }
}
