//! Solving the small symmetric positive-definite systems of a Newton step.

/// Solves `a x = b` for a symmetric positive-definite `a` (row-major, `n × n`) by Cholesky
/// factorisation; `None` when `a` is not numerically positive definite.
pub(super) fn solve_spd(mut a: Vec<f64>, b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    debug_assert_eq!(a.len(), n * n);
    // a = L Lᵀ, L stored in the lower triangle.
    for j in 0..n {
        let diagonal = a[j * n + j] - (0..j).map(|k| a[j * n + k].powi(2)).sum::<f64>();
        if diagonal.is_nan() || diagonal <= 0.0 {
            return None;
        }
        let root = diagonal.sqrt();
        a[j * n + j] = root;
        for i in j + 1..n {
            let dot: f64 = (0..j).map(|k| a[i * n + k] * a[j * n + k]).sum();
            a[i * n + j] = (a[i * n + j] - dot) / root;
        }
    }
    let mut x = b.to_vec();
    for i in 0..n {
        let dot: f64 = (0..i).map(|k| a[i * n + k] * x[k]).sum();
        x[i] = (x[i] - dot) / a[i * n + i];
    }
    for i in (0..n).rev() {
        let dot: f64 = (i + 1..n).map(|k| a[k * n + i] * x[k]).sum();
        x[i] = (x[i] - dot) / a[i * n + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system_and_refuses_an_indefinite_one() {
        let a = vec![4.0, 2.0, 0.0, 2.0, 5.0, 1.0, 0.0, 1.0, 3.0];
        let x = solve_spd(a.clone(), &[2.0, 1.0, 3.0]).unwrap();
        for row in 0..3 {
            let ax: f64 = (0..3).map(|k| a[row * 3 + k] * x[k]).sum();
            assert!((ax - [2.0, 1.0, 3.0][row]).abs() < 1e-12);
        }
        assert!(solve_spd(vec![1.0, 2.0, 2.0, 1.0], &[1.0, 1.0]).is_none());
    }
}
