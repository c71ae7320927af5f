"""ModelInputs: rows come back in the order asked for, from the mirrored copy where asked."""

import numpy as np
import pytest

from sat_course.data import ModelInputs


def _inputs(flipped: bool = True) -> ModelInputs:
    array = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    return ModelInputs(array, [f"i{k}" for k in range(5)], "features", -array if flipped else None)


def test_batch_takes_the_flipped_rows_where_asked():
    inputs = _inputs()
    batch = inputs.batch([3, 0, 4, 3], flip=[True, False, False, False]).numpy()
    np.testing.assert_array_equal(batch, np.stack([-inputs.array[3], inputs.array[0], inputs.array[4], inputs.array[3]]))
    np.testing.assert_array_equal(inputs.batch([3, 0]).numpy(), inputs.array[[3, 0]])
    np.testing.assert_array_equal(inputs.batch([3, 0], flip=[False, False]).numpy(), inputs.array[[3, 0]])


def test_flipping_without_a_flipped_copy_or_with_a_mismatched_one_is_refused():
    with pytest.raises(ValueError, match="no flipped copy"):
        _inputs(flipped=False).batch([1], flip=[True])
    array = np.zeros((5, 2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="do not match"):
        ModelInputs(array, [f"i{k}" for k in range(5)], "features", np.zeros((4, 2, 3), dtype=np.float32))
