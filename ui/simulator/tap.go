package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
)

// maxTapBody caps a tap request: {"x":1919,"y":1079} is 19 bytes.
const maxTapBody = 256

// parseTap reads a tap body, {"x": 12, "y": 34} in screen pixels, and
// checks it lies on a screen of the given size.
func parseTap(body []byte, size image.Point) (image.Point, error) {
	if len(body) > maxTapBody {
		return image.Point{}, fmt.Errorf("tap body is %d bytes; at most %d allowed", len(body), maxTapBody)
	}
	var t struct {
		X *json.Number `json:"x"`
		Y *json.Number `json:"y"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		return image.Point{}, fmt.Errorf(`tap body must be JSON like {"x": 12, "y": 34}: %v`, err)
	}
	if dec.More() {
		return image.Point{}, errors.New("tap body has data after the JSON object")
	}
	if t.X == nil || t.Y == nil {
		return image.Point{}, errors.New(`tap needs both "x" and "y"`)
	}
	x, err := coord("x", *t.X, size.X)
	if err != nil {
		return image.Point{}, err
	}
	y, err := coord("y", *t.Y, size.Y)
	if err != nil {
		return image.Point{}, err
	}
	return image.Pt(x, y), nil
}

// coord checks one coordinate is a whole pixel in [0, limit).
func coord(name string, n json.Number, limit int) (int, error) {
	v, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("tap %s = %s: must be a whole number of pixels", name, n)
	}
	if v < 0 || v >= int64(limit) {
		return 0, fmt.Errorf("tap %s = %d is off the screen (0 to %d)", name, v, limit-1)
	}
	return int(v), nil
}
