"""Command-line value parsers reject bad input with argparse's one-line error."""

import argparse

import pytest

from kerascnn.core import options


@pytest.mark.parametrize("text", ["0", "-3", "two", "1.5"])
def test_positive_int_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        options.positive_int(text)


@pytest.mark.parametrize("text", ["0", "-0.1", "nan", "inf", "fast"])
def test_positive_float_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        options.positive_float(text)


def test_shape_parses_both_spellings():
    assert options.shape("224,224,3") == (224, 224, 3)
    assert options.shape("32x32x1") == (32, 32, 1)
    for bad in ["", "a,b", "32,0,3", "-1,2", "8,x,1", "32,,1"]:
        with pytest.raises(argparse.ArgumentTypeError):
            options.shape(bad)


def test_comma_list_checks_allowed_values():
    parse = options.comma_list(allowed=["tflite", "onnx"])
    assert parse("tflite, onnx") == ["tflite", "onnx"]
    with pytest.raises(argparse.ArgumentTypeError, match="tflit"):
        parse("tflit")
