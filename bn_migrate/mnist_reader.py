"""TF1's MNIST tutorial reader, as source text: what the codemod emits and what ``run-tf1`` runs.

``tensorflow.examples.tutorials.mnist.input_data.read_data_sets`` (the same function as
``tensorflow.contrib.learn.python.learn.datasets.mnist.read_data_sets``) is the data loader of most TF1
tutorials; TensorFlow 2 has neither module. ``tf.keras.datasets.mnist`` gives the same images, but not
what TF1's reader made of them: float32 in [0, 1], flattened to 784, the first 5,000 training images held
out as ``validation``, and ``next_batch`` drawing shuffled batches with NumPy's global generator, which
each data set reseeds when it is made (from the entropy pool unless a seed is given). A program migrated
onto another loader trains on other batches, so its statistics cannot be compared with the original's.

``SOURCES`` is TF 1.15's reader (Apache-2.0, The TensorFlow Authors), ported line for line to Python 3
and to names TensorFlow 2 has (``gfile`` -> ``open``/``os``, ``dtypes`` -> ``tf``, ``base.Datasets`` ->
a namedtuple of the same fields, ``xrange`` -> ``range``): the same files from the same mirror into the
same folder, the same prints, arrays, errors and NumPy calls in the same order (a missing file is
downloaded once with ``urllib``: TF1's ``urlretrieve_with_retry`` tried again after a failure). Two
definitions:
``TF1MnistDataSet`` (TF1's ``DataSet``) and ``tf1_mnist_read_data_sets`` (``read_data_sets``), which
read ``tf`` (the module ``tensorflow``) from their module.

The one difference is the seed: TF1 seeded NumPy with the graph-level seed (``tf.set_random_seed``)
when ``seed=`` was not given, which TensorFlow 2 has no side-effect-free way to read back. The codemod
migrates the reader only in a program that sets no graph-level seed (the seed is then ``seed=`` alone, as
``TF1MnistDataSet.numpy_seed`` computes it); ``run-tf1`` overrides ``numpy_seed`` with TF1's
``random_seed.get_seed`` on the default graph (``bn_migrate.runtime.mnist``).

This module imports nothing: the codemod's install needs neither NumPy nor TensorFlow.
"""

from __future__ import annotations

MAXINT32 = 2**31 - 1
"""TF1's ``random_seed`` truncates seeds modulo this (``_truncate_seed``); the emitted code spells it out."""
DATA_SET = "TF1MnistDataSet"
READ_DATA_SETS = "tf1_mnist_read_data_sets"

_DATA_SET_SOURCE = '''
class TF1MnistDataSet:
    """TF1's MNIST tutorial DataSet (tensorflow.examples.tutorials.mnist, TF 1.15), ported as it was:
    the same arrays, and next_batch's shuffles drawn from NumPy's global generator, which the data set
    reseeds when it is made (from the entropy pool when no seed is given)."""

    def __init__(self, images, labels, fake_data=False, one_hot=False, dtype=tf.float32,
                 reshape=True, seed=None):
        import numpy

        numpy.random.seed(self.numpy_seed(seed))
        dtype = tf.as_dtype(dtype).base_dtype
        if dtype not in (tf.uint8, tf.float32):
            raise TypeError("Invalid image dtype %r, expected uint8 or float32" % dtype)
        if fake_data:
            self._num_examples = 10000
            self.one_hot = one_hot
        else:
            assert images.shape[0] == labels.shape[0], (
                "images.shape: %s labels.shape: %s" % (images.shape, labels.shape))
            self._num_examples = images.shape[0]
            if reshape:
                assert images.shape[3] == 1
                images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
            if dtype == tf.float32:
                images = images.astype(numpy.float32)
                images = numpy.multiply(images, 1.0 / 255.0)
        self._images = images
        self._labels = labels
        self._epochs_completed = 0
        self._index_in_epoch = 0

    @staticmethod
    def numpy_seed(seed):
        """TF1's seed for NumPy in a program without a graph-level seed: seed= (truncated to 31 bits)."""
        return None if seed is None else seed % 2147483647

    @property
    def images(self):
        return self._images

    @property
    def labels(self):
        return self._labels

    @property
    def num_examples(self):
        return self._num_examples

    @property
    def epochs_completed(self):
        return self._epochs_completed

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """Return the next `batch_size` examples from this data set."""
        import numpy

        if fake_data:
            fake_image = [1] * 784
            if self.one_hot:
                fake_label = [1] + [0] * 9
            else:
                fake_label = 0
            return [fake_image for _ in range(batch_size)], [fake_label for _ in range(batch_size)]
        start = self._index_in_epoch
        # Shuffle for the first epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            perm0 = numpy.arange(self._num_examples)
            numpy.random.shuffle(perm0)
            self._images = self.images[perm0]
            self._labels = self.labels[perm0]
        # Go to the next epoch
        if start + batch_size > self._num_examples:
            # Finished epoch
            self._epochs_completed += 1
            # Get the rest examples in this epoch
            rest_num_examples = self._num_examples - start
            images_rest_part = self._images[start:self._num_examples]
            labels_rest_part = self._labels[start:self._num_examples]
            # Shuffle the data
            if shuffle:
                perm = numpy.arange(self._num_examples)
                numpy.random.shuffle(perm)
                self._images = self.images[perm]
                self._labels = self.labels[perm]
            # Start next epoch
            start = 0
            self._index_in_epoch = batch_size - rest_num_examples
            end = self._index_in_epoch
            images_new_part = self._images[start:end]
            labels_new_part = self._labels[start:end]
            return (numpy.concatenate((images_rest_part, images_new_part), axis=0),
                    numpy.concatenate((labels_rest_part, labels_new_part), axis=0))
        else:
            self._index_in_epoch += batch_size
            end = self._index_in_epoch
            return self._images[start:end], self._labels[start:end]
'''

_READ_DATA_SETS_SOURCE = '''
def tf1_mnist_read_data_sets(train_dir, fake_data=False, one_hot=False, dtype=tf.float32,
                             reshape=True, validation_size=5000, seed=None,
                             source_url="https://storage.googleapis.com/cvdf-datasets/mnist/"):
    """TF1's MNIST tutorial reader (input_data.read_data_sets, TF 1.15), ported as it was: the four
    files of the CVDF mirror downloaded into train_dir when missing, the first validation_size
    training images held out, three TF1MnistDataSet. TF1's code: The TensorFlow Authors, Apache-2.0."""
    import collections
    import gzip
    import os
    import shutil
    import urllib.request

    import numpy

    datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])
    if fake_data:

        def fake():
            return TF1MnistDataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed)

        return datasets(train=fake(), validation=fake(), test=fake())
    if not source_url:  # empty string check
        source_url = "https://storage.googleapis.com/cvdf-datasets/mnist/"

    def maybe_download(filename):
        if not os.path.exists(train_dir):
            os.makedirs(train_dir)
        filepath = os.path.join(train_dir, filename)
        if not os.path.exists(filepath):
            temp_file_name, _ = urllib.request.urlretrieve(source_url + filename)
            shutil.copyfile(temp_file_name, filepath)
            print("Successfully downloaded", filename, os.path.getsize(filepath), "bytes.")
        return filepath

    def read32(bytestream):
        dt = numpy.dtype(numpy.uint32).newbyteorder(">")
        return numpy.frombuffer(bytestream.read(4), dtype=dt)[0]

    def extract_images(f):
        print("Extracting", f.name)
        with gzip.GzipFile(fileobj=f) as bytestream:
            magic = read32(bytestream)
            if magic != 2051:
                raise ValueError("Invalid magic number %d in MNIST image file: %s" % (magic, f.name))
            num_images = read32(bytestream)
            rows = read32(bytestream)
            cols = read32(bytestream)
            buf = bytestream.read(rows * cols * num_images)
            data = numpy.frombuffer(buf, dtype=numpy.uint8)
            return data.reshape(num_images, rows, cols, 1)

    def extract_labels(f):
        print("Extracting", f.name)
        with gzip.GzipFile(fileobj=f) as bytestream:
            magic = read32(bytestream)
            if magic != 2049:
                raise ValueError("Invalid magic number %d in MNIST label file: %s" % (magic, f.name))
            num_items = read32(bytestream)
            buf = bytestream.read(num_items)
            labels = numpy.frombuffer(buf, dtype=numpy.uint8)
            if one_hot:
                index_offset = numpy.arange(labels.shape[0]) * 10
                labels_one_hot = numpy.zeros((labels.shape[0], 10))
                labels_one_hot.flat[index_offset + labels.ravel()] = 1
                return labels_one_hot
            return labels

    with open(maybe_download("train-images-idx3-ubyte.gz"), "rb") as f:
        train_images = extract_images(f)
    with open(maybe_download("train-labels-idx1-ubyte.gz"), "rb") as f:
        train_labels = extract_labels(f)
    with open(maybe_download("t10k-images-idx3-ubyte.gz"), "rb") as f:
        test_images = extract_images(f)
    with open(maybe_download("t10k-labels-idx1-ubyte.gz"), "rb") as f:
        test_labels = extract_labels(f)

    if not 0 <= validation_size <= len(train_images):
        raise ValueError(
            "Validation size should be between 0 and {}. Received: {}.".format(
                len(train_images), validation_size))

    validation_images = train_images[:validation_size]
    validation_labels = train_labels[:validation_size]
    train_images = train_images[validation_size:]
    train_labels = train_labels[validation_size:]

    options = dict(dtype=dtype, reshape=reshape, seed=seed)
    train = TF1MnistDataSet(train_images, train_labels, **options)
    validation = TF1MnistDataSet(validation_images, validation_labels, **options)
    test = TF1MnistDataSet(test_images, test_labels, **options)
    return datasets(train=train, validation=validation, test=test)
'''

SOURCES = {DATA_SET: _DATA_SET_SOURCE, READ_DATA_SETS: _READ_DATA_SETS_SOURCE}
"""Each emitted definition's source, by the name it defines (in the order they are emitted)."""

PARAMETERS = (
    "train_dir",
    "fake_data",
    "one_hot",
    "dtype",
    "reshape",
    "validation_size",
    "seed",
    "source_url",
)
"""``read_data_sets``'s parameters, in TF1's order (the same in TF 1.0's: a positional call binds alike)."""
