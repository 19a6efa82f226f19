//! JPEG Huffman tables (`DHT` segments), for walking entropy-coded data code by code.

use super::jpeg_entropy::Bits;

/// One Huffman table: the canonical code of JPEG's Annex C.
pub(super) struct Huffman {
    /// For codes of up to [`FAST_BITS`] bits, indexed by the next bits: (code length, symbol);
    /// length 0 where no code that short matches.
    fast: Vec<(u8, u8)>,
    /// Per code length 1..=16: the largest code of that length plus one (0 if none).
    max_code: [u32; 17],
    /// Per code length: the first code of that length, and where its symbols start.
    first_code: [u32; 17],
    first_symbol: [usize; 17],
    symbols: Vec<u8>,
}

/// Code bits looked up at once.
const FAST_BITS: u32 = 9;

impl Huffman {
    /// Builds the table from `counts` (codes of each length 1..=16) and their `symbols`;
    /// `None` if the counts describe more codes than fit.
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Huffman> {
        let mut table = Huffman {
            fast: vec![(0, 0); 1 << FAST_BITS],
            max_code: [0; 17],
            first_code: [0; 17],
            first_symbol: [0; 17],
            symbols: symbols.to_vec(),
        };
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16 {
            let n = u32::from(counts[len - 1]);
            if code + n > 1 << len {
                return None;
            }
            table.first_code[len] = code;
            table.first_symbol[len] = k;
            for i in 0..n {
                if len as u32 <= FAST_BITS {
                    let c = (code + i) << (FAST_BITS - len as u32);
                    for slot in c..c + (1 << (FAST_BITS - len as u32)) {
                        table.fast[slot as usize] = (len as u8, symbols[k + i as usize]);
                    }
                }
            }
            code += n;
            k += n as usize;
            table.max_code[len] = code;
            code <<= 1;
        }
        Some(table)
    }

    /// Reads one code from `bits`; `None` for bits that are no code of this table.
    pub(super) fn decode(&self, bits: &mut Bits) -> Option<u8> {
        let peek = bits.peek16();
        let (len, symbol) = self.fast[(peek >> (16 - FAST_BITS)) as usize];
        if len > 0 {
            bits.consume(u32::from(len));
            return Some(symbol);
        }
        for len in FAST_BITS as usize + 1..=16 {
            let code = u32::from(peek) >> (16 - len);
            if code < self.max_code[len] && code >= self.first_code[len] {
                bits.consume(len as u32);
                let i = self.first_symbol[len] + (code - self.first_code[len]) as usize;
                return self.symbols.get(i).copied();
            }
        }
        None
    }
}

/// The tables a scan may use: four DC and four AC slots.
#[derive(Default)]
pub(super) struct Tables {
    /// DC tables by slot.
    pub dc: [Option<Huffman>; 4],
    /// AC tables by slot.
    pub ac: [Option<Huffman>; 4],
    /// True once a `DHT` segment could not be understood: scans are then not walked.
    pub broken: bool,
}

impl Tables {
    /// Takes in the tables of a `DHT` segment's body.
    pub(super) fn define(&mut self, mut seg: &[u8]) {
        while !seg.is_empty() {
            let table = seg.get(1..17).and_then(|counts| {
                let counts: &[u8; 16] = counts.try_into().ok()?;
                let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                let symbols = seg.get(17..17 + n)?;
                Some((Huffman::new(counts, symbols), 17 + n))
            });
            let (class, slot) = (seg[0] >> 4, usize::from(seg[0] & 15));
            match table {
                Some((Some(t), used)) if slot < 4 && class < 2 => {
                    let slots = if class == 0 {
                        &mut self.dc
                    } else {
                        &mut self.ac
                    };
                    slots[slot] = Some(t);
                    seg = &seg[used..];
                }
                _ => {
                    self.broken = true;
                    return;
                }
            }
        }
    }
}
