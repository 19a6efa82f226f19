//! The JPEG frame header (`SOF`) and scan header (`SOS`): which blocks a scan holds.

/// One colour component of a frame.
struct Component {
    id: u8,
    /// Horizontal and vertical sampling factors (1..=4).
    h: usize,
    v: usize,
}

/// A sequential frame's size and components.
pub(super) struct Frame {
    width: usize,
    /// Rows of pixels the header declares.
    pub height: usize,
    components: Vec<Component>,
    h_max: usize,
    v_max: usize,
}

impl Frame {
    /// Reads a `SOF` segment's body; `None` if it is not understood (then nothing is walked).
    pub(super) fn parse(seg: &[u8]) -> Option<Frame> {
        let height = usize::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
        let width = usize::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
        let n = usize::from(*seg.get(5)?);
        let components = seg
            .get(6..6 + 3 * n)?
            .chunks_exact(3)
            .map(|c| Component {
                id: c[0],
                h: usize::from(c[1] >> 4),
                v: usize::from(c[1] & 15),
            })
            .collect::<Vec<_>>();
        let factors_ok = components
            .iter()
            .all(|c| (1..=4).contains(&c.h) && (1..=4).contains(&c.v));
        // A height of 0 is given later by a DNL segment, which is not followed here.
        if width == 0 || height == 0 || n == 0 || !factors_ok {
            return None;
        }
        Some(Frame {
            h_max: components.iter().map(|c| c.h).max()?,
            v_max: components.iter().map(|c| c.v).max()?,
            width,
            height,
            components,
        })
    }
}

/// What a scan holds: its MCUs (minimum coded units), each a few blocks of 8×8 samples.
pub(super) struct Scan {
    /// For each block of an MCU in order: the DC and AC table slots.
    pub blocks: Vec<(usize, usize)>,
    /// MCUs per row, and in all.
    pub per_row: usize,
    pub count: usize,
    /// Rows of pixels one row of MCUs covers.
    pub rows_per_mcu_row: usize,
}

impl Scan {
    /// Reads a `SOS` segment's body for `frame`; `None` if it is not understood.
    pub(super) fn parse(seg: &[u8], frame: &Frame) -> Option<Scan> {
        let n = usize::from(*seg.first()?);
        let mut parts = Vec::with_capacity(n);
        for c in seg.get(1..1 + 2 * n)?.chunks_exact(2) {
            let comp = frame.components.iter().find(|k| k.id == c[0])?;
            parts.push((comp, usize::from(c[1] >> 4), usize::from(c[1] & 15)));
        }
        let (w, h) = (frame.width, frame.height);
        if let [(comp, dc, ac)] = parts[..] {
            // One component: its blocks one by one, covering only its own samples.
            let per_row = (w * comp.h).div_ceil(frame.h_max).div_ceil(8);
            let rows = (h * comp.v).div_ceil(frame.v_max).div_ceil(8);
            return Some(Scan {
                blocks: vec![(dc, ac)],
                per_row,
                count: per_row * rows,
                rows_per_mcu_row: 8 * frame.v_max / comp.v,
            });
        }
        // Interleaved: each MCU holds h×v blocks of each component in turn.
        let per_row = w.div_ceil(8 * frame.h_max);
        let rows = h.div_ceil(8 * frame.v_max);
        let blocks = parts
            .iter()
            .flat_map(|&(comp, dc, ac)| std::iter::repeat_n((dc, ac), comp.h * comp.v))
            .collect::<Vec<_>>();
        (!blocks.is_empty()).then(|| Scan {
            blocks,
            per_row,
            count: per_row * rows,
            rows_per_mcu_row: 8 * frame.v_max,
        })
    }
}
