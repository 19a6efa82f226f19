//! JPEG entropy-coded data: finding where it ends, and walking a sequential scan code by code
//! to check that it holds every block its header needs.

use super::jpeg_frame::Scan;
use super::jpeg_huffman::{Huffman, Tables};

/// Damage found in a scan.
#[derive(Debug, PartialEq)]
pub(super) enum Damage {
    /// The data ends (or the next segment starts) after this many rows of pixels.
    EndsEarly {
        /// Rows whose data is all there.
        rows: usize,
    },
    /// Bits that are no code of their table, near this row of pixels.
    BadCode {
        /// The row of MCUs' first pixel row.
        row: usize,
    },
}

/// A marker: `FF` (with any fill `FF`s) and a code other than `00`.
pub(super) struct Marker {
    /// Where its first `FF` is.
    pub at: usize,
    /// Its code (`D9` for the end of the image, ...).
    pub code: u8,
    /// Where what follows it starts.
    pub after: usize,
}

/// The first marker at or after `pos`, stray bytes before it passed over as decoders do
/// (stuffed `FF 00` pairs are data, not markers).
pub(super) fn next_marker(data: &[u8], mut pos: usize) -> Option<Marker> {
    loop {
        let at = pos + data.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        let code_at = at + data[at..].iter().position(|&b| b != 0xFF)?;
        let (code, after) = (data[code_at], code_at + 1);
        if code != 0 {
            return Some(Marker { at, code, after });
        }
        pos = after;
    }
}

/// Where the entropy-coded data starting at `pos` ends: the position of the next marker that
/// is not a restart marker, or `None` if the data runs to the end.
pub(super) fn end_of_data(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let m = next_marker(data, pos)?;
        if !is_restart(m.code) {
            return Some(m.at);
        }
        pos = m.after;
    }
}

fn is_restart(code: u8) -> bool {
    (0xD0..=0xD7).contains(&code)
}

/// Walks the sequential Huffman-coded scan starting at `pos` (just after its header), with
/// `restart_interval` MCUs between restart markers (0 for none). Returns where its data ends
/// (see [`end_of_data`]), or `Ok(None)` when it uses a table that is not defined.
pub(super) fn walk(
    data: &[u8],
    pos: usize,
    scan: &Scan,
    tables: &Tables,
    restart_interval: usize,
) -> Result<Option<usize>, Damage> {
    let mut blocks = Vec::with_capacity(scan.blocks.len());
    for &(dc, ac) in &scan.blocks {
        match (tables.dc.get(dc), tables.ac.get(ac)) {
            (Some(Some(dc)), Some(Some(ac))) => blocks.push((dc, ac)),
            _ => return Ok(None),
        }
    }
    let mut bits = Bits::new(data, pos);
    for mcu in 0..scan.count {
        let row = mcu / scan.per_row * scan.rows_per_mcu_row;
        if restart_interval > 0 && mcu > 0 && mcu % restart_interval == 0 && !bits.restart() {
            return Err(Damage::EndsEarly { rows: row });
        }
        for &(dc, ac) in &blocks {
            if skip_block(&mut bits, dc, ac).is_none() {
                // Zeros fed past the end can make codes that do not fit.
                return Err(if bits.exhausted() {
                    Damage::EndsEarly { rows: row }
                } else {
                    Damage::BadCode { row }
                });
            }
        }
        if bits.overrun {
            return Err(Damage::EndsEarly { rows: row });
        }
    }
    Ok(end_of_data(data, bits.pos))
}

/// Reads one block's codes (its DC difference and AC coefficients); `None` if they are bad.
fn skip_block(bits: &mut Bits, dc: &Huffman, ac: &Huffman) -> Option<()> {
    let size = dc.decode(bits)?;
    if size > 16 {
        return None;
    }
    bits.consume(u32::from(size));
    let mut k = 1;
    while k < 64 {
        let rs = ac.decode(bits)?;
        let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
        if size == 0 {
            if run != 15 {
                break; // end of block
            }
            k += 16;
            continue;
        }
        k += run;
        if k > 63 {
            return None;
        }
        bits.consume(size);
        k += 1;
    }
    (k <= 64).then_some(())
}

/// Entropy-coded bits: stuffed bytes (`FF 00`) undone, zero bits fed past the data's end (the
/// next marker), and `overrun` set once any of those is consumed.
pub(super) struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to read; at the data's end, the position of the marker that ends it.
    pos: usize,
    /// Bits not yet consumed, from the top.
    buf: u64,
    /// Bits in `buf`, and how many of them came from the data (the rest are zeros fed past
    /// its end).
    count: u32,
    real: u32,
    /// True once the data's end was reached.
    ended: bool,
    /// True once a bit past the data's end was consumed.
    pub overrun: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            buf: 0,
            count: 0,
            real: 0,
            ended: false,
            overrun: false,
        }
    }

    fn refill(&mut self) {
        while self.count <= 56 {
            let byte = self.next_byte();
            self.buf |= u64::from(byte.unwrap_or(0)) << (56 - self.count);
            self.count += 8;
            if byte.is_some() {
                self.real += 8;
            }
        }
    }

    /// The next data byte, `None` at (and after) the data's end.
    fn next_byte(&mut self) -> Option<u8> {
        if self.ended {
            return None;
        }
        match self.data.get(self.pos..) {
            Some([0xFF, 0x00, ..]) => {
                self.pos += 2;
                Some(0xFF)
            }
            Some([0xFF, ..]) | Some([]) | None => {
                self.ended = true;
                None
            }
            Some([b, ..]) => {
                self.pos += 1;
                Some(*b)
            }
        }
    }

    /// The next 16 bits, not consumed.
    pub(super) fn peek16(&mut self) -> u16 {
        if self.count < 16 {
            self.refill();
        }
        (self.buf >> 48) as u16
    }

    /// Consumes `n` (at most 16) bits.
    pub(super) fn consume(&mut self, n: u32) {
        if self.count < n {
            self.refill();
        }
        if n > self.real {
            self.overrun = true;
        }
        self.real = self.real.saturating_sub(n);
        self.buf <<= n;
        self.count -= n;
    }

    /// True once the bits have run out, or all but the last two bytes' worth.
    fn exhausted(&self) -> bool {
        self.overrun || (self.ended && self.real < 16)
    }

    /// Moves past the restart marker that must follow an interval's data (the rest of its
    /// last byte is padding); false if the data ends otherwise.
    fn restart(&mut self) -> bool {
        (self.buf, self.count, self.real) = (0, 0, 0);
        // Data beyond what the interval needs is passed over, as decoders do.
        match next_marker(self.data, self.pos) {
            Some(m) if is_restart(m.code) => {
                self.pos = m.after;
                self.ended = false;
                true
            }
            _ => false,
        }
    }
}
